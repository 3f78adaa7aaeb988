import { describe, expect, it } from 'vitest';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import { encodeHeaderText, headerField } from './outgoing-message.js';

// Header text Sieve writes (vacation, notify, editheader) must fit a header line and read
// back as written (issue 21: found by the encoded-words fuzz target).

describe('encodeHeaderText', () => {
  it('encodes a word too long to fold, so no line passes 998 octets', () => {
    const subject = `Auto: ${'a'.repeat(1200)}`;
    const field = headerField('Subject', encodeHeaderText(subject));
    for (const line of field.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect(decodeEncodedWords(field.slice('Subject: '.length).replace(/\r\n/g, ''))).toBe(subject);
  });

  it('encodes control characters instead of writing them raw', () => {
    const encoded = encodeHeaderText('\u001b$B%F%9%H\u001b(B and \u0000');
    expect(encoded).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeEncodedWords(encoded)).toBe('\u001b$B%F%9%H\u001b(B and \u0000');
  });

  it('leaves plain text with spaces and tabs as it is', () => {
    expect(encodeHeaderText('Out of office\tuntil Monday')).toBe('Out of office\tuntil Monday');
  });
});
