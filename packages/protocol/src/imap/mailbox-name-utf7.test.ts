import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMailboxName, encodeMailboxName } from './mailbox-name-utf7.js';

describe('RFC 3501 §5.1.3 examples', () => {
  it('mixes English, Chinese and Japanese', () => {
    expect(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-')).toBe('~peter/mail/台北/日本語');
    expect(encodeMailboxName('~peter/mail/台北/日本語')).toBe('~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  });

  it('refuses "&Jjo!" (no shift back before "!") and reads "&Jjo-!"', () => {
    expect(decodeMailboxName('&Jjo!')).toBeUndefined();
    expect(decodeMailboxName('&Jjo-!')).toBe('☺!');
    expect(encodeMailboxName('☺!')).toBe('&Jjo-!');
  });

  it('refuses the superfluous shift "&U,BTFw-&ZeVnLIqe-" and reads "&U,BTF2XlZyyKng-"', () => {
    expect(decodeMailboxName('&U,BTFw-&ZeVnLIqe-')).toBeUndefined();
    expect(decodeMailboxName('&U,BTF2XlZyyKng-')).toBe('台北日本語');
    expect(encodeMailboxName('台北日本語')).toBe('&U,BTF2XlZyyKng-');
  });
});

describe('encodeMailboxName', () => {
  it('leaves printable ASCII alone and writes & as &-', () => {
    expect(encodeMailboxName('INBOX')).toBe('INBOX');
    expect(encodeMailboxName('')).toBe('');
    expect(encodeMailboxName('&')).toBe('&-');
    expect(encodeMailboxName('Tom & Jerry')).toBe('Tom &- Jerry');
    expect(encodeMailboxName(' !"#$%\'()*+,-./~')).toBe(' !"#$%\'()*+,-./~');
  });

  it('encodes controls, DEL, Latin-1 and astral characters', () => {
    expect(encodeMailboxName('\t')).toBe('&AAk-');
    expect(encodeMailboxName('\u007f')).toBe('&AH8-');
    expect(encodeMailboxName('Entwürfe')).toBe('Entw&APw-rfe');
    expect(encodeMailboxName('éé')).toBe('&AOkA6Q-');
    expect(encodeMailboxName('😀')).toBe('&2D3eAA-');
    // "/" inside base64 becomes ","; U+FFFF is all one bits.
    expect(encodeMailboxName('\uffff')).toBe('&,,8-');
  });

  it('puts an & next to encoded text in its own &-', () => {
    expect(encodeMailboxName('é&é')).toBe('&AOk-&-&AOk-');
    expect(decodeMailboxName('&AOk-&-&AOk-')).toBe('é&é');
  });
});

describe('decodeMailboxName', () => {
  it('reads plain names and &-', () => {
    expect(decodeMailboxName('INBOX')).toBe('INBOX');
    expect(decodeMailboxName('')).toBe('');
    expect(decodeMailboxName('&-')).toBe('&');
    expect(decodeMailboxName('&-&-')).toBe('&&');
    expect(decodeMailboxName('a&-b')).toBe('a&b');
    expect(decodeMailboxName('Entw&APw-rfe')).toBe('Entwürfe');
    expect(decodeMailboxName('&2D3eAA-')).toBe('😀');
  });

  it('refuses characters outside 0x20–0x7e', () => {
    expect(decodeMailboxName('Entwürfe')).toBeUndefined();
    expect(decodeMailboxName('a\tb')).toBeUndefined();
    expect(decodeMailboxName('a\u007fb')).toBeUndefined();
    expect(decodeMailboxName('a\u0000b')).toBeUndefined();
    expect(decodeMailboxName('&AOk\u00e9-')).toBeUndefined();
  });

  it('refuses a bare or unterminated &', () => {
    expect(decodeMailboxName('&')).toBeUndefined();
    expect(decodeMailboxName('a&')).toBeUndefined();
    expect(decodeMailboxName('&AOk')).toBeUndefined();
  });

  it('refuses characters that are not modified base64', () => {
    expect(decodeMailboxName('&U/BTFw-')).toBeUndefined(); // "/" is "," here
    expect(decodeMailboxName('&AOk=-')).toBeUndefined(); // no padding
    expect(decodeMailboxName('&AO k-')).toBeUndefined();
    expect(decodeMailboxName('&AO!k-')).toBeUndefined();
  });

  it('refuses base64 for printable ASCII, & included', () => {
    expect(decodeMailboxName('&AGE-')).toBeUndefined(); // "a"
    expect(decodeMailboxName('&ACY-')).toBeUndefined(); // "&"
    expect(decodeMailboxName('&AOkAYQ-')).toBeUndefined(); // "éa"
    expect(decodeMailboxName('&ACA-')).toBeUndefined(); // " "
    expect(decodeMailboxName('&AH4-')).toBeUndefined(); // "~"
    expect(decodeMailboxName('&AB8-')).toBe('\u001f');
  });

  it('refuses half code units and stray bits', () => {
    expect(decodeMailboxName('&A-')).toBeUndefined(); // 6 bits
    expect(decodeMailboxName('&AO-')).toBeUndefined(); // 12 bits
    expect(decodeMailboxName('&AOkA-')).toBeUndefined(); // 24 bits: one and a half units
    expect(decodeMailboxName('&AOl-')).toBeUndefined(); // "é" with a non-zero pad bit
    expect(decodeMailboxName('&AOkA6R-')).toBeUndefined(); // "éé" with a non-zero pad bit
    expect(decodeMailboxName('&AOkA6QA-')).toBeUndefined(); // a whole spare character
  });

  it('refuses unpaired surrogates, also when a pair is split across runs', () => {
    expect(decodeMailboxName('&2D0-')).toBeUndefined(); // high alone
    expect(decodeMailboxName('&3gA-')).toBeUndefined(); // low alone
    expect(decodeMailboxName('&3gDYPQ-')).toBeUndefined(); // low before high
    expect(decodeMailboxName('&2D0-x&3gA-')).toBeUndefined();
    expect(decodeMailboxName('&2D3YPQ-')).toBeUndefined(); // two highs
  });

  it('refuses a superfluous shift but not & between runs', () => {
    expect(decodeMailboxName('&AOk-&AOk-')).toBeUndefined();
    expect(decodeMailboxName('&AOk-&-&AOk-')).toBe('é&é');
    expect(decodeMailboxName('&AOk--&AOk-')).toBe('é-é');
  });
});

describe('properties', () => {
  const names = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: fc.constantFrom('&', '-', 'a', '/', 'é', '台', '😀', '\t'), maxLength: 30 }),
  );

  it('decodes what it encodes, and encodes to printable ASCII', () => {
    fc.assert(
      fc.property(names, (name) => {
        const wire = encodeMailboxName(name);
        expect(wire).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeMailboxName(wire)).toBe(name);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives every name one spelling: a wire name it accepts is what that name encodes to', () => {
    // Mutated encodings land near valid input, where a lax decoder would accept a second
    // spelling (stray bits, split surrogates, a superfluous shift, encoded ASCII).
    const alphabet = fc.constantFrom(
      '&',
      '-',
      'A',
      'B',
      'O',
      'k',
      '2',
      'D',
      '3',
      'e',
      'g',
      ',',
      '+',
      '/',
      'a',
    );
    const mutation = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 2 }),
      insert: fc.string({ unit: alphabet, maxLength: 3 }),
    });
    const wires = fc.tuple(names, fc.array(mutation, { maxLength: 3 })).map(([name, mutations]) => {
      let wire = encodeMailboxName(name);
      for (const { at, remove, insert } of mutations) {
        const position = wire.length === 0 ? 0 : at % (wire.length + 1);
        wire = wire.slice(0, position) + insert + wire.slice(position + remove);
      }
      return wire;
    });
    fc.assert(
      fc.property(wires, (wire) => {
        const name = decodeMailboxName(wire);
        if (name !== undefined) expect(encodeMailboxName(name)).toBe(wire);
      }),
      { numRuns: 3000 },
    );
  });
});
