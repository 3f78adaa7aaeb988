// Access rights of IMAP ACL (RFC 4314 §2.1): one letter per right, held as a string in the
// order of ALL_RIGHTS. The owner of a mailbox has all of them, always (they cannot be
// granted or taken away); another account has what the owner (or someone with `a`) granted.

/**
 * RFC 4314 §2.1, in the order GETACL and MYRIGHTS list them: lookup, read, seen, write,
 * insert, post, create (k), delete mailbox (x), delete messages (t), expunge, administer.
 */
export const ALL_RIGHTS = 'lrswipkxtea';

/** RFC 2086's obsolete rights, taken as the RFC 4314 rights they stood for (§2.1.1). */
const OBSOLETE: Readonly<Record<string, string>> = { c: 'kx', d: 'xte' };

/** A rights string with each right once, in ALL_RIGHTS order. */
export function normalRights(rights: Iterable<string>): string {
  const held = new Set(rights);
  return [...ALL_RIGHTS].filter((r) => held.has(r)).join('');
}

/**
 * SETACL's `mod-rights` (RFC 4314 §3.1): `+rights` adds, `-rights` takes away, plain rights
 * replace; undefined for a letter that is no right (§3.1: "BAD ... if rights are invalid").
 * Digits are rights a server may define (`0`-`9`, §2.1): none is defined here, so they are
 * refused too.
 */
export function parseModRights(
  text: string,
): { readonly mode: 'add' | 'remove' | 'replace'; readonly rights: string } | undefined {
  const mode = text.startsWith('+') ? 'add' : text.startsWith('-') ? 'remove' : 'replace';
  const letters = mode === 'replace' ? text : text.slice(1);
  const rights = new Set<string>();
  for (const letter of letters.toLowerCase()) {
    const meaning = OBSOLETE[letter] ?? (ALL_RIGHTS.includes(letter) ? letter : undefined);
    if (meaning === undefined) return undefined;
    for (const r of meaning) rights.add(r);
  }
  return { mode, rights: normalRights(rights) };
}

/** The rights after a SETACL's change. */
export function applyModRights(
  current: string,
  change: { readonly mode: 'add' | 'remove' | 'replace'; readonly rights: string },
): string {
  if (change.mode === 'replace') return change.rights;
  if (change.mode === 'add') return normalRights([...current, ...change.rights]);
  return normalRights([...current].filter((r) => !change.rights.includes(r)));
}

/** Who may change a flag (RFC 4314 §4, STORE): `s` \Seen, `t` \Deleted, `w` every other flag. */
export function rightForFlag(flag: string): 's' | 't' | 'w' {
  const lower = flag.toLowerCase();
  return lower === '\\seen' ? 's' : lower === '\\deleted' ? 't' : 'w';
}

/** The flags of `flags` that these rights may set or clear. */
export function changeableFlags(rights: string, flags: readonly string[]): string[] {
  return flags.filter((f) => rights.includes(rightForFlag(f)));
}

/**
 * SELECT opens read-write only with a right to change something in the mailbox (RFC 4314
 * §4: `s`, `w` or `t`); with `r` alone it is as EXAMINE, `[READ-ONLY]`.
 */
export function writableWith(rights: string): boolean {
  return /[swt]/.test(rights);
}

/**
 * A command refused for want of a right (RFC 4314 §4, RFC 5530 NOPERM). Thrown by the
 * shared-mailbox layer (shared-mailboxes.ts) rather than returned: it is the one place that
 * knows whose a mailbox is, and a refusal there must stop any command that reaches it, new
 * commands included, without each of them checking. The dispatcher answers it as
 * `NO [NOPERM]`, the session goes on.
 */
export class MailboxPermissionDenied extends Error {
  constructor(readonly need: string) {
    super(`permission denied: needs the ${need} right`);
    this.name = 'MailboxPermissionDenied';
  }
}

/** Throws MailboxPermissionDenied unless `rights` hold every right of `need`. */
export function requireRights(rights: string, need: string): void {
  for (const r of need) if (!rights.includes(r)) throw new MailboxPermissionDenied(r);
}
