// Which names a mailbox can have (RFC 3501 §5.1, RFC 9051 §5.1). Names are stored in
// Unicode with '/' between levels. The store refuses what mailboxNameProblem refuses
// (packages/store mailboxes.ts mailboxName, by throwing), so the engine asks first: a
// command that names a mailbox which should exist (SELECT, STATUS, DELETE, APPEND, COPY …)
// with a name no mailbox can have is answered NO [NONEXISTENT], never SERVERBUG.

export const MAILBOX_DELIMITER = '/';

/**
 * Longest name CREATE and RENAME accept, in UTF-8 octets: the store's unique index on
 * (account, name) holds at most 2,704 octets per entry, and 1,000 characters of CJK
 * (3,000 octets) did not fit.
 */
export const MAX_NAME_OCTETS = 1_000;
/** Most hierarchy levels in a new name. */
export const MAX_NAME_DEPTH = 32;

/** INBOX is case-insensitive (RFC 3501 §5.1), and so is the INBOX of INBOX/child. */
export function canonicalName(name: string): string {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (name.toUpperCase().startsWith(`INBOX${MAILBOX_DELIMITER}`)) return `INBOX${name.slice(5)}`;
  return name;
}

/**
 * Why no mailbox can have this name (empty, an empty level, a control character), or
 * undefined when one can; the store's rule as well as the engine's. Names longer than
 * MAX_NAME_OCTETS pass: one made before that limit must stay reachable.
 */
export function mailboxNameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.split(MAILBOX_DELIMITER).some((level) => level === '')) {
    return `a hierarchy level is empty (a leading, trailing or doubled "${MAILBOX_DELIMITER}")`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\x00-\x1f\x7f]/.test(name)) return 'control characters are not allowed';
  return undefined;
}

/** Why a new mailbox (CREATE, RENAME's target) may not have this name, or undefined. */
export function newMailboxNameProblem(name: string): string | undefined {
  const problem = mailboxNameProblem(name);
  if (problem) return problem;
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_OCTETS) return `longer than ${MAX_NAME_OCTETS} octets`;
  if (name.split(MAILBOX_DELIMITER).length > MAX_NAME_DEPTH) return `deeper than ${MAX_NAME_DEPTH} levels`;
  // LIST's wildcards (RFC 3501 §6.3.8): a name holding them could not be listed alone.
  if (/[*%]/.test(name)) return 'the LIST wildcards * and % are not allowed';
  return undefined;
}
