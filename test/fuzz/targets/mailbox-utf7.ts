import fc from 'fast-check';
import {
  decodeMailboxName,
  encodeMailboxName,
} from '../../../packages/protocol/src/imap/mailbox-name-utf7.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, loneSurrogateAt, mutatedText } from '../mail-seeds.js';

// IMAP modified UTF-7 mailbox names (RFC 3501 §5.1.3): every Unicode name encodes and decodes
// back to itself, and every wire name that decodes has exactly that one spelling, so two
// spellings never name one mailbox and a name is never stored mangled.

export type MailboxUtf7Input =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'wire'; readonly wire: string };

const SEEDS = [
  '~peter/mail/&U,BTFw-/&ZeVnLIqe-',
  '&Jjo!',
  '&Jjo-!',
  '&U,BTFw-&ZeVnLIqe-',
  '&U,BTF2XlZyyKng-',
  'Entw&APw-rfe',
  '&2D3eAA-',
  '&,,8-',
  '&AOk-&-&AOk-',
  'Tom &- Jerry',
  '&AGE-',
  '&2D0-',
  '&3gA-',
  '&AOkA6Q-',
  '&AOkA6',
  '&-&-&',
];

const name = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 15 }),
  fc.string({ unit: 'binary', maxLength: 15 }),
  fc.string({
    unit: fc.constantFrom('&', '-', 'a', '/', 'é', '日', '😀', '\ud83d', '\ude00', '\u0000', '\u007f'),
    maxLength: 20,
  }),
);

const wire = fc.oneof(
  mutatedText(SEEDS, { base: name.map(encodeMailboxName) }),
  fc.string({
    unit: fc.constantFrom(...'&-+,/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 é'),
    maxLength: 24,
  }),
);

const input: fc.Arbitrary<MailboxUtf7Input> = fc.oneof(
  name.map((n) => ({ kind: 'name' as const, name: n })),
  wire.map((w) => ({ kind: 'wire' as const, wire: w })),
);

function check(input: MailboxUtf7Input): void {
  if (input.kind === 'name') {
    const wireName = encodeMailboxName(input.name);
    ensure(/^[\x20-\x7e]*$/.test(wireName), 'the wire name is printable ASCII');
    const back = decodeMailboxName(wireName);
    if (loneSurrogateAt(input.name) < 0) {
      ensure(back === input.name, `${JSON.stringify(input.name)} came back as ${JSON.stringify(back)}`);
    } else {
      // The encoder cannot repair half a surrogate pair; the decoder refuses what it wrote.
      ensure(back === undefined, 'a name with a lone surrogate does not decode');
    }
    return;
  }
  const decoded = decodeMailboxName(input.wire);
  if (decoded === undefined) return;
  ensure(loneSurrogateAt(decoded) < 0, 'a decoded name is well-formed UTF-16');
  ensure(
    encodeMailboxName(decoded) === input.wire,
    `${JSON.stringify(input.wire)} decoded to ${JSON.stringify(decoded)}, which is spelt ${JSON.stringify(encodeMailboxName(decoded))}`,
  );
}

export const target: FuzzTarget<MailboxUtf7Input> = {
  name: 'mailbox-utf7',
  covers: 'IMAP modified UTF-7 mailbox names: round trips both ways, one spelling per name, invalid refused',
  input,
  check,
  regressions: [],
};
