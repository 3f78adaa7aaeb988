// Small syntax checks the validator and the interpreter share: header field names
// (RFC 5322 §3.6.8), the addresses redirect/vacation/notify accept (RFC 5228 §4.2: an
// RFC 5322 addr-spec, optionally as `Name <addr-spec>`), and Pigeonhole's lists of the
// headers the address test may read and the envelope parts the envelope test knows.

/** RFC 5322 §3.6.8: printable US-ASCII except colon. */
export function isValidHeaderName(name: string): boolean {
  return name.length > 0 && name.length <= 998 && /^[\x21-\x39\x3b-\x7e]+$/.test(name);
}

const quoted = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
// Unicode letters are allowed too (RFC 6531 SMTPUTF8 addresses).
const utf8Atext = "[\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~-]";
const utf8DotAtom = `${utf8Atext}+(?:\\.${utf8Atext}+)*`;
const addrSpec = new RegExp(`^(?:${utf8DotAtom}|${quoted})@(?:${utf8DotAtom}|\\[[^\\[\\]\\\\]*\\])$`, 'u');

/**
 * The addr-spec in `text` (`local@domain`, or the part in angle brackets of
 * `Name <local@domain>`), or null when there is none.
 */
export function extractSieveAddress(text: string): string | null {
  const trimmed = text.trim();
  const angle = /<([^<>]*)>\s*$/.exec(trimmed);
  const candidate = angle === null ? trimmed : angle[1]!.trim();
  return addrSpec.test(candidate) ? candidate : null;
}

export function isValidSieveAddress(text: string): boolean {
  return extractSieveAddress(text) !== null;
}

/** Pigeonhole's address test headers: the ones that hold address lists. */
export const ADDRESS_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'sender',
  'resent-from',
  'resent-to',
  'reply-to',
  'resent-reply-to',
  'resent-sender',
  'resent-cc',
  'resent-bcc',
  'for-approval',
  'for-handling',
  'for-comment',
  'apparently-to',
  'errors-to',
  'delivered-to',
  'return-receipt-to',
  'x-admin',
  'read-receipt-to',
  'x-confirm-reading-to',
  'return-receipt-requested',
  'registered-mail-reply-requested-by',
  'mail-followup-to',
  'mail-reply-to',
  'abuse-reports-to',
  'x-complaints-to',
  'x-report-abuse-to',
  'x-beenthere',
]);

/** RFC 5228 §5.4 "from" and "to", and "auth" (RFC 5228 §5.4 leaves room; Pigeonhole has it). */
export const ENVELOPE_PARTS: ReadonlySet<string> = new Set(['from', 'to', 'auth']);
