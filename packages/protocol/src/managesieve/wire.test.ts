import { describe, expect, it } from 'vitest';
import { capabilityLine, responseBytes, sieveString } from './wire.js';

const text = (bytes: string | Buffer) => (typeof bytes === 'string' ? bytes : bytes.toString('utf8'));

describe('what a ManageSieve server writes', () => {
  it('quotes a string, escaping the quote and the backslash', () => {
    expect(sieveString('vacation')).toBe('"vacation"');
    expect(sieveString('clever"script\\')).toBe('"clever\\"script\\\\"');
    expect(sieveString('régles')).toBe('"régles"');
  });

  it('sends a string with a line break, or over 1024 octets, as a literal (RFC 5804 §4)', () => {
    expect(text(sieveString('line 1\r\nline 2'))).toBe('{14}\r\nline 1\r\nline 2');
    expect(text(sieveString('é'.repeat(513)))).toBe(`{1026}\r\n${'é'.repeat(513)}`);
    expect(sieveString('x'.repeat(1024))).toBe(`"${'x'.repeat(1024)}"`);
  });

  it('writes responses with their codes (§1.3)', () => {
    expect(responseBytes({ status: 'OK' })).toBe('OK\r\n');
    expect(
      responseBytes({ status: 'NO', code: 'NONEXISTENT', text: 'There is no script by that name' }),
    ).toBe('NO (NONEXISTENT) "There is no script by that name"\r\n');
    expect(responseBytes({ status: 'OK', code: { tag: 'STARTTLS-SYNC-42' }, text: 'Done' })).toBe(
      'OK (TAG "STARTTLS-SYNC-42") "Done"\r\n',
    );
    expect(responseBytes({ status: 'OK', code: { sasl: 'dj1zZXJ2ZXI=' } })).toBe(
      'OK (SASL "dj1zZXJ2ZXI=")\r\n',
    );
    expect(text(responseBytes({ status: 'NO', text: 'line 1: a\r\nline 2: b' }))).toBe(
      'NO {20}\r\nline 1: a\r\nline 2: b\r\n',
    );
    expect(responseBytes({ status: 'BYE', code: 'TRYLATER', text: 'shutting down' })).toBe(
      'BYE (TRYLATER) "shutting down"\r\n',
    );
  });

  it('writes capability lines (§1.7)', () => {
    expect(capabilityLine('STARTTLS')).toBe('"STARTTLS"\r\n');
    expect(capabilityLine('SIEVE', 'fileinto vacation')).toBe('"SIEVE" "fileinto vacation"\r\n');
  });
});
