import { describe, expect, it } from 'vitest';
import { authservIdOf } from './authserv-id.js';

describe('authservIdOf', () => {
  it('reads the first token, skipping comments and a version', () => {
    expect(authservIdOf('mx.example.com; spf=pass')).toBe('mx.example.com');
    expect(authservIdOf(' (forged) MX.Example.COM 1; dkim=pass')).toBe('mx.example.com');
    expect(authservIdOf('mx.example.com;')).toBe('mx.example.com');
    expect(authservIdOf('(a (nested) comment) other.example; none')).toBe('other.example');
    expect(authservIdOf('mx.example.com(comment); none')).toBe('mx.example.com');
    expect(authservIdOf('(escaped \\( paren) mx.example.com; none')).toBe('mx.example.com');
  });

  it('reads no id from a comment that never closes', () => {
    expect(authservIdOf('(unclosed mx.example.com; none')).toBe('');
  });

  it('reads deeply nested comments in one pass (a forged field of nested parentheses)', () => {
    // Stripping comments level by level took about a minute here; one pass reads it at once.
    const depth = 200_000;
    expect(authservIdOf(`${'('.repeat(depth)}${')'.repeat(depth)} other.example; none`)).toBe(
      'other.example',
    );
    expect(authservIdOf(`mx.example.com ${'('.repeat(depth)}`)).toBe('mx.example.com');
  });
});
