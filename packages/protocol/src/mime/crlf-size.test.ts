import { describe, expect, it } from 'vitest';
import { crlfSize } from './crlf-size.js';

describe('crlfSize', () => {
  it('counts a message that already ends its lines with CRLF as it is', () => {
    expect(crlfSize(Buffer.from('Subject: a\r\n\r\nbody\r\n'))).toBe(20);
  });

  it('counts each bare LF as CRLF, including one that starts the message', () => {
    expect(crlfSize(Buffer.from('\nSubject: a\n\r\nbody\n'))).toBe(
      Buffer.from('\r\nSubject: a\r\n\r\nbody\r\n').length,
    );
  });

  it('counts a lone CR as one octet (only LF gets a CR added)', () => {
    expect(crlfSize(Buffer.from('a\rb'))).toBe(3);
  });
});
