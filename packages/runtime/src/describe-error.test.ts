import { describe, expect, it } from 'vitest';
import { describeError } from './describe-error.js';
import { redactCredentials } from './redact.js';

describe('describeError', () => {
  it('says what a network error means', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), {
      code: 'ECONNREFUSED',
      address: '::1',
      port: 5432,
    });
    expect(describeError(refused)).toBe('connection refused (::1:5432)');
    expect(describeError(Object.assign(new Error('x'), { code: 'ENOTFOUND', hostname: 'db' }))).toBe(
      'host not found (db)',
    );
  });

  it('describes the AggregateError of a connection to localhost by its parts', () => {
    const parts = ['::1', '127.0.0.1'].map((address) =>
      Object.assign(new Error(''), { code: 'ECONNREFUSED', address, port: 4222 }),
    );
    expect(describeError(new AggregateError(parts, ''))).toBe(
      'connection refused (::1:4222); connection refused (127.0.0.1:4222)',
    );
  });

  it('keeps the first line of other messages, without passwords', () => {
    expect(describeError(new Error('bad login for postgres://u:pw@db/x\n    at stack'))).toBe(
      'bad login for postgres://u:***@db/x',
    );
    expect(describeError('plain')).toBe('plain');
    expect(describeError(Object.assign(new Error(''), { code: 'EPIPE' }))).toBe('EPIPE');
  });
});

describe('redactCredentials', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactCredentials('postgres://tegami:s3cret@db:5432/mail')).toBe(
      'postgres://tegami:***@db:5432/mail',
    );
    expect(redactCredentials('postgres://u:p@ss/w:rd@db/x')).toBe('postgres://u:***@db/x');
    expect(redactCredentials('nats://a:b@h1, nats://c:d@h2')).toBe('nats://a:***@h1, nats://c:***@h2');
    expect(redactCredentials('tegami:s3cret@db')).toBe('tegami:***@db');
    expect(redactCredentials('postgres://tegami@db/mail')).toBe('postgres://tegami@db/mail');
    expect(redactCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('describeError with a cause', () => {
  it('finds the network error a client wrapped', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4222'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 4222,
    });
    expect(describeError(new Error('connection refused', { cause }))).toBe(
      'connection refused (127.0.0.1:4222)',
    );
    expect(describeError(new Error('authorization violation', { cause: new Error('x') }))).toBe(
      'authorization violation',
    );
  });
});
