import { describe, expect, it } from 'vitest';
import { authservIdOf, removeForgedAuthenticationResults } from './authentication-results.js';

describe('authservIdOf', () => {
  it('reads the first token, skipping comments and a version', () => {
    expect(authservIdOf('mx.example.com; spf=pass')).toBe('mx.example.com');
    expect(authservIdOf(' (forged) MX.Example.COM 1; dkim=pass')).toBe('mx.example.com');
    expect(authservIdOf('mx.example.com;')).toBe('mx.example.com');
    expect(authservIdOf('(a (nested) comment) other.example; none')).toBe('other.example');
  });
});

describe('removeForgedAuthenticationResults (RFC 8601 §5)', () => {
  it('removes every field with our authserv-id, folded or not, and keeps the rest byte-exact', () => {
    const raw = Buffer.from(
      'Authentication-Results: mx.example.com;\r\n\tdkim=pass header.d=bank.example\r\n' +
        'X-Other: 1\r\n' +
        'authentication-results: (x) MX.EXAMPLE.COM; spf=pass\r\n' +
        'Authentication-Results: upstream.example; spf=fail\r\n' +
        'Subject: caf\xe9\r\n\r\nAuthentication-Results: mx.example.com; in the body stays\r\n',
      'latin1',
    );
    const cleaned = removeForgedAuthenticationResults(raw, 'mx.example.com').toString('latin1');
    expect(cleaned).toBe(
      'X-Other: 1\r\nAuthentication-Results: upstream.example; spf=fail\r\nSubject: caf\xe9\r\n\r\n' +
        'Authentication-Results: mx.example.com; in the body stays\r\n',
    );
  });

  it('returns the very same buffer when there is nothing to remove', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(removeForgedAuthenticationResults(raw, 'mx.example.com')).toBe(raw);
  });
});
