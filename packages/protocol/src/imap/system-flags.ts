// The five system flags of RFC 3501 §2.3.2 (RFC 9051 §2.3.2 keeps them; \Recent is not
// stored, it is a session's view). Flag names are case-insensitive, so `\SEEN` and `\seen`
// are one flag: every writer of flags (the Postgres store, the in-memory test account) and
// every reader (SEARCH, STORE's syntax check) takes the spelling from here.

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

export type SystemFlag = (typeof SYSTEM_FLAGS)[number];

const BY_LOWER_CASE = new Map<string, SystemFlag>(SYSTEM_FLAGS.map((flag) => [flag.toLowerCase(), flag]));

/** The RFC 3501 spelling of a system flag given in any case; undefined for a keyword. */
export function systemFlag(flag: string): SystemFlag | undefined {
  return BY_LOWER_CASE.get(flag.toLowerCase());
}

/**
 * Flags as stored: system flags in their RFC 3501 spelling whatever the case given,
 * keywords as given, one of each regardless of case (the last spelling given wins), sorted.
 */
export function normaliseFlags(flags: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const flag of flags) {
    const canonical = systemFlag(flag) ?? flag;
    seen.set(canonical.toLowerCase(), canonical);
  }
  return [...seen.values()].sort();
}
