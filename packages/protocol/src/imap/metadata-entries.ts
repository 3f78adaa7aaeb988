// METADATA entry names (RFC 5464 §3.2, §5): a slash-separated path under /private (the
// user's own value) or /shared (the value every user with access sees). Names are
// case-insensitive, so they are kept and compared in lower case; the store never sees a
// name these rules refuse. Shared by the commands and the in-memory store (which matches
// entries exactly as the Postgres store's SQL does).

import type { MetadataDepth } from './session-types.js';

/**
 * The longest entry name taken, in octets. RFC 5464 sets none; this keeps a name well
 * inside a Postgres index entry (about 2.7 KB) and any real client's names (the
 * registered ones are under 40 octets, vendor ones rarely past 100).
 */
export const MAX_ENTRY_NAME = 1024;

/**
 * What is wrong with an entry name, or undefined for a valid one. The bare tops `/private`
 * and `/shared` are valid names to read (with DEPTH, everything below them); SETMETADATA
 * refuses them separately (metadataTop).
 */
export function metadataEntryProblem(name: string): string | undefined {
  if (name.length > MAX_ENTRY_NAME) return `entry names are at most ${MAX_ENTRY_NAME} octets`;
  // §3.2 (with erratum 1692): no non-ASCII characters and no control characters.
  if (!/^[\x20-\x7e]*$/.test(name)) return 'entry names are printable ASCII';
  if (!name.startsWith('/')) return "entry names begin with '/'";
  // §5: entry MUST NOT contain "*" or "%" (they would read as LIST-style wildcards).
  if (/[*%]/.test(name)) return "entry names contain no '*' or '%'";
  if (name.includes('//')) return "entry names contain no '//'";
  if (name.endsWith('/')) return "entry names do not end with '/'";
  const top = name.split('/')[1]!.toLowerCase();
  if (top !== 'private' && top !== 'shared') return 'entry names begin with /private or /shared';
  return undefined;
}

/** Whether the name is only `/private` or `/shared`: the root of a hierarchy, no entry of its own. */
export function metadataTop(entry: string): boolean {
  return entry === '/private' || entry === '/shared';
}

/**
 * Whether a stored entry is what a GETMETADATA for `requested` returns at `depth`: the entry
 * itself, and with DEPTH 1 its children, with DEPTH infinity all below it (§4.2.2).
 */
export function metadataEntryMatches(requested: string, entry: string, depth: MetadataDepth): boolean {
  if (entry === requested) return true;
  if (depth === '0' || !entry.startsWith(`${requested}/`)) return false;
  return depth === 'infinity' || !entry.slice(requested.length + 1).includes('/');
}
