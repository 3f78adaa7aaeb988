import fc from 'fast-check';

// Pieces of protocol lines for the protocol fuzz targets (SMTP, POP3, IMAP, SASL): values
// a client may send, boundary values, and hostile ones, and a way to mix grammar-built
// lines with nearly-valid mutations of them (mail-seeds.ts's mutations).

/** A word in random case: verbs and keywords are case-insensitive on every protocol here. */
export function anyCase(word: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
}

/** Characters that end, split or escape things in protocol lines. */
export const NASTY = [
  '',
  ' ',
  '  ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\u0000',
  '<',
  '>',
  '"',
  '\\',
  '@',
  ':',
  ',',
  '=',
  '+',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '*',
  '%',
  '.',
  '..',
  '\u00e9',
  '\u00ff',
  'é',
  '例',
  '\ud83d\ude00',
  '\ud800',
  '{0}',
  '{4294967296}',
  '~{3}',
  '99999999999999999999',
  '-1',
  '0',
];

export const nasty = fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 4 }));

const atextChar = fc.constantFrom(..."abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-".split(''), 'é', 'ü', '例');

/** RFC 5321 local parts: dot-strings, quoted strings, some near misses. */
export const localPart = fc.oneof(
  fc
    .array(fc.string({ unit: atextChar, minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 })
    .map((a) => a.join('.')),
  fc
    .string({ unit: fc.constantFrom('a', ' ', '"', '\\', '\\"', '@', 'é', '.'), maxLength: 10 })
    .map((s) => `"${s}"`),
  fc.constantFrom('', '.a', 'a.', 'a..b', 'postmaster', 'Postmaster', 'x'.repeat(64), 'x'.repeat(65)),
);

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/),
  fc.constantFrom('bücher', '例子', 'xn--bcher-kva', 'xn--', '-a', 'a-', '', 'x'.repeat(63), 'x'.repeat(64)),
);

/** Domains and address literals, valid and not. */
export const domain = fc.oneof(
  { weight: 4, arbitrary: fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')) },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => `[${ip}]`) },
  { weight: 1, arbitrary: fc.ipV6().map((ip) => `[IPv6:${ip}]`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '[1.2.3]',
      '[IPv6:::1:2:3:4:5:6:7:8]',
      '[tag:x]',
      '[]',
      'a.b.',
      `${'a.'.repeat(130)}b`,
    ),
  },
);

export const mailbox = fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`);

/** Splits a byte string at random places: framing must not depend on how bytes arrive. */
export function chunked(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> {
  return fc.tuple(bytes, fc.array(fc.nat(), { maxLength: 6 })).map(([whole, cuts]) => {
    const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const point of [...points, whole.length]) {
      chunks.push(whole.subarray(from, point));
      from = point;
    }
    return chunks;
  });
}

export const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** The 16 octets of an IPv6 address in any text form node accepts. */
export function ipv6Octets(text: string): number[] {
  let ipv4: number[] = [];
  let body = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    ipv4 = dotted[1]!.split('.').map(Number);
    body = `${text.slice(0, -dotted[1]!.length)}0:0`;
  }
  const [head = '', tail] = body.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const octets = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (dotted) octets.splice(12, 4, ...ipv4);
  return octets;
}
