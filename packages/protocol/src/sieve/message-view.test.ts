import { describe, expect, it } from 'vitest';
import { headerAddresses, MAX_ADDRESS_FIELD_CHARS, MessageView } from './message-view.js';
import { message, run, summary } from './test-run.js';

/** A To field of `count` addresses u0@example.org, u1@example.org, … (folded, as mailers write it). */
function manyAddresses(count: number, first = 0): string {
  return Array.from({ length: count }, (_, i) => `u${first + i}@example.org`).join(',\r\n ');
}

function withTo(to: string): Uint8Array {
  return message(`From: alice@example.com\r\nTo: ${to}\r\nSubject: hi\r\n\r\nbody\r\n`);
}

describe('MessageView.addresses', () => {
  it('reads a field once, however many tests ask', () => {
    const view = new MessageView(withTo('bob@example.org, "Carol" <carol@example.net>'));
    const [to] = view.named('to');
    const first = view.addresses(to!);
    expect(first).toEqual([
      { localPart: 'bob', domain: 'example.org' },
      { localPart: 'carol', domain: 'example.net' },
    ]);
    expect(view.addresses(to!)).toBe(first);
  });

  it('reads a field addheader wrote, and forgets one deleteheader removed', () => {
    const script = `require ["editheader", "fileinto"];
      if address :is "to" "bob@example.org" { fileinto "before"; }
      addheader "To" "dave@example.org";
      if address :is "to" "dave@example.org" { fileinto "added"; }
      deleteheader "to";
      if not address :is "to" "bob@example.org" { fileinto "deleted"; }`;
    expect(summary(run(script, { message: withTo('bob@example.org') }))).toEqual([
      'fileinto before',
      'fileinto added',
      'fileinto deleted',
    ]);
  });
});

describe('address test over long address fields', () => {
  it('finds an address among thousands and counts them all', () => {
    const to = manyAddresses(3000);
    expect(to.length).toBeLessThan(MAX_ADDRESS_FIELD_CHARS);
    const script = `require ["fileinto", "relational", "comparator-i;ascii-numeric"];
      if address :is "to" "u2999@example.org" { fileinto "last"; }
      if address :is "to" "u0@example.org" { fileinto "first"; }
      if address :count "eq" :comparator "i;ascii-numeric" "to" "3000" { fileinto "all"; }
      if address :is "to" "u3000@example.org" { fileinto "none"; }`;
    const result = run(script, { message: withTo(to) });
    expect(result.error).toBeNull();
    expect(summary(result)).toEqual(['fileinto last', 'fileinto first', 'fileinto all']);
  });

  it('reads a field up to MAX_ADDRESS_FIELD_CHARS: an address past it is not seen', () => {
    // Well past the cap: 20,000 addresses of 15-17 characters and a separator each.
    const to = `${manyAddresses(20_000)}, far@example.net`;
    expect(to.length).toBeGreaterThan(MAX_ADDRESS_FIELD_CHARS * 4);
    const script = `require ["fileinto"];
      if address :is "to" "u0@example.org" { fileinto "first"; }
      if address :is "to" "u100@example.org" { fileinto "early"; }
      if address :is "to" "far@example.net" { fileinto "far"; }
      if address :is "to" "u19999@example.org" { fileinto "last"; }`;
    const result = run(script, { message: withTo(to) });
    expect(result.error).toBeNull();
    expect(summary(result)).toEqual(['fileinto first', 'fileinto early']);
  });

  it('drops the address the cut falls in rather than match it cut short', () => {
    // The cap falls inside bob's domain: read that far, bob would be bob@exam.
    const head = 'keep@example.org, ';
    const cutShort = ', bob@exam';
    const middle = 'p'.repeat(MAX_ADDRESS_FIELD_CHARS - head.length - cutShort.length);
    const value = `${head}${middle}, bob@example.org`;
    expect(value.slice(0, MAX_ADDRESS_FIELD_CHARS).endsWith(cutShort)).toBe(true);
    // The middle entry has no domain: dropped, as Pigeonhole drops it; bob is cut: dropped too.
    expect(headerAddresses(value)).toEqual([{ localPart: 'keep', domain: 'example.org' }]);
    const script = `require ["fileinto"];
      if address :domain :is "to" "exam" { fileinto "cut"; }
      if address :is "to" "keep@example.org" { fileinto "keep"; }`;
    expect(summary(run(script, { message: withTo(value) }))).toEqual(['fileinto keep']);
  });

  it('keeps every address of a field exactly as long as the cap', () => {
    const head = 'a@example.org, ';
    const last = 'z@example.org';
    const value = `${head}${'b'.repeat(MAX_ADDRESS_FIELD_CHARS - head.length - last.length - 2)}, ${last}`;
    expect(value.length).toBe(MAX_ADDRESS_FIELD_CHARS);
    expect(headerAddresses(value)).toEqual([
      { localPart: 'a', domain: 'example.org' },
      { localPart: 'z', domain: 'example.org' },
    ]);
  });

  it('takes a huge field without an address as one invalid address of the text it read', () => {
    expect(headerAddresses('x'.repeat(MAX_ADDRESS_FIELD_CHARS * 3))).toEqual([
      { localPart: 'x'.repeat(MAX_ADDRESS_FIELD_CHARS), domain: null, invalid: true },
    ]);
  });
});
