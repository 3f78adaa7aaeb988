import { describe, expect, it } from 'vitest';
import { isStoreOutage } from './store-outage.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isStoreOutage', () => {
  it('knows a database that is down, restarting, unreachable or out of disk', () => {
    expect(isStoreOutage(withCode('ECONNREFUSED'))).toBe(true);
    expect(isStoreOutage(withCode('57P01', 'terminating connection due to administrator command'))).toBe(
      true,
    );
    expect(isStoreOutage(withCode('57P03', 'the database system is starting up'))).toBe(true);
    expect(isStoreOutage(withCode('53100', 'could not extend file: No space left on device'))).toBe(true);
    expect(isStoreOutage(withCode('08006'))).toBe(true);
    expect(isStoreOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isStoreOutage(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
    expect(isStoreOutage(new AggregateError([withCode('ECONNREFUSED')]))).toBe(true);
  });

  it('leaves bugs and refusals to be bugs', () => {
    expect(isStoreOutage(new TypeError("Cannot read properties of undefined (reading 'uid')"))).toBe(false);
    expect(isStoreOutage(withCode('22021', 'invalid byte sequence for encoding "UTF8"'))).toBe(false);
    expect(isStoreOutage(withCode('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isStoreOutage(withCode('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isStoreOutage(undefined)).toBe(false);
    expect(isStoreOutage('ECONNREFUSED')).toBe(false);
  });
});
