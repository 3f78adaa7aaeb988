import { describe, expect, it } from 'vitest';
import { saysTlsRequiredNo } from './tls-required.js';

const message = (header: string) => Buffer.from(`${header}Subject: x\r\n\r\nTLS-Required: No\r\n`);

describe('saysTlsRequiredNo (RFC 8689 §3)', () => {
  it('reads the field in any case, with or without folding white space', () => {
    expect(saysTlsRequiredNo(message('TLS-Required: No\r\n'))).toBe(true);
    expect(saysTlsRequiredNo(message('tls-required:no\r\n'))).toBe(true);
    expect(saysTlsRequiredNo(message('TLS-REQUIRED:\r\n  NO\r\n'))).toBe(true);
  });

  it('ignores the field when absent, with another value, or in the body', () => {
    expect(saysTlsRequiredNo(message(''))).toBe(false);
    expect(saysTlsRequiredNo(message('TLS-Required: Yes\r\n'))).toBe(false);
    expect(saysTlsRequiredNo(message('TLS-Required: No thanks\r\n'))).toBe(false);
    expect(saysTlsRequiredNo(message('X-TLS-Required: No\r\n'))).toBe(false);
  });

  it('does not honour a header with the field twice (§3: one instance at most)', () => {
    expect(saysTlsRequiredNo(message('TLS-Required: No\r\nTLS-Required: No\r\n'))).toBe(false);
  });
});
