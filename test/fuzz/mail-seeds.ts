import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';

// Seeds and mutations shared by the mail-content fuzz targets (MIME, headers, Sieve): the
// shared corpus and the tests' fixtures as they are, and nearly-valid variants of them
// (bytes flipped, cut, spliced, repeated), which reach the error paths a generator that
// only writes valid syntax never does.

// The shared corpus sits beside the repository clone (/work/shared next to /work/main, and
// the same in CI), as packages/protocol/src/mime/corpus.test.ts reads it.
const corpusDir = new URL('../../../shared/corpus/', import.meta.url);
const sieveScriptsDir = new URL('../sieve-scripts/', import.meta.url);

function readAll(dir: URL, extension: string): Uint8Array[] {
  // A clone without the shared corpus still fuzzes, from the generators alone.
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => new Uint8Array(readFileSync(new URL(name, dir))));
}

/** Every message of the shared corpus, raw. */
export const corpusMessages: readonly Uint8Array[] = readAll(corpusDir, '.eml');

/** Every Sieve script of test/sieve-scripts, raw. */
export const sieveScripts: readonly Uint8Array[] = readAll(sieveScriptsDir, '.sieve');

/** Tokens that change the meaning of mail text when they land in it. */
const MAIL_TOKENS = [
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '\r\n ',
  '--',
  '--b\r\n',
  '\r\n--b--\r\n',
  ':',
  ';',
  '"',
  '\\',
  '(',
  ')',
  '<',
  '>',
  '@',
  ',',
  '=',
  '=?',
  '?=',
  '=?utf-8?B?',
  '=?ISO-2022-JP?Q?',
  '=?utf-16be?B?2D0=?=',
  '*0*=',
  "utf-8''%",
  '%FF',
  '=\r\n',
  '=F',
  '\u001b$B',
  '\u001b(B',
  '{',
  '}',
  'Content-Type: multipart/mixed; boundary=b\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n',
  'MIME-Version: 1.0\r\n',
  '\u0000',
  '\u00ff',
  '\u00e9',
].map((token) => Uint8Array.from(token, (c) => c.charCodeAt(0) & 0xff));

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; token: number }
  | { kind: 'duplicate'; at: number; length: number; times: number }
  | { kind: 'splice'; at: number; from: number; seed: number; length: number };

const position = fc.nat({ max: 0xffffff });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    token: fc.nat({ max: MAIL_TOKENS.length - 1 }),
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: position,
    length: fc.integer({ min: 1, max: 256 }),
    times: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: position,
    from: position,
    seed: fc.nat(),
    length: fc.integer({ min: 1, max: 512 }),
  }),
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function applyMutation(bytes: Uint8Array, m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[at % bytes.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'delete':
      return concat(bytes.subarray(0, at), bytes.subarray(at + m.length));
    case 'insert':
      return concat(bytes.subarray(0, at), MAIL_TOKENS[m.token]!, bytes.subarray(at));
    case 'duplicate': {
      const piece = bytes.subarray(at, at + m.length);
      return concat(
        bytes.subarray(0, at),
        ...Array.from({ length: m.times + 1 }, () => piece),
        bytes.subarray(at),
      );
    }
    case 'splice': {
      const other = seeds.length === 0 ? bytes : seeds[m.seed % seeds.length]!;
      const from = other.length === 0 ? 0 : m.from % other.length;
      return concat(bytes.subarray(0, at), other.subarray(from, from + m.length), bytes.subarray(at));
    }
  }
}

/**
 * Nearly-valid variants of the seeds: a seed (or a generated input, when `base` is given)
 * with up to `maxMutations` byte-level mutations, splices taking pieces of other seeds.
 */
export function mutatedBytes(
  seeds: readonly Uint8Array[],
  options: { base?: fc.Arbitrary<Uint8Array>; maxMutations?: number } = {},
): fc.Arbitrary<Uint8Array> {
  const bases: fc.Arbitrary<Uint8Array>[] = [];
  if (seeds.length > 0) bases.push(fc.constantFrom(...seeds));
  if (options.base) bases.push(options.base);
  if (bases.length === 0) bases.push(fc.uint8Array({ maxLength: 256 }));
  return fc
    .tuple(fc.oneof(...bases), fc.array(mutation, { minLength: 1, maxLength: options.maxMutations ?? 6 }))
    .map(([base, mutations]) => mutations.reduce((bytes, m) => applyMutation(bytes, m, seeds), base));
}

/** Mutated variants of strings: mutated as UTF-8 bytes, read back as UTF-8 (a broken sequence becomes U+FFFD). */
export function mutatedText(
  seeds: readonly string[],
  options: { base?: fc.Arbitrary<string>; maxMutations?: number } = {},
): fc.Arbitrary<string> {
  const toBytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
  return mutatedBytes(seeds.map(toBytes), {
    ...(options.base && { base: options.base.map(toBytes) }),
    ...(options.maxMutations !== undefined && { maxMutations: options.maxMutations }),
  }).map((bytes) => Buffer.from(bytes).toString('utf8'));
}

/** The UTF-16 code units of `text` that are half a surrogate pair, or -1 when it has none. */
export function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}

/** Throws with `what` and the input when a property does not hold. */
export function ensure(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`property failed: ${what}`);
}
