// METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA. Annotations of the
// server (mailbox "") and of each mailbox, /private ones the user's own and /shared ones
// readable by whoever may read the mailbox, which today is its owner alone (there is no
// access across accounts). So the server's entries are per account too, except the two
// the RFC names (§3.2.1.1): /shared/admin and /shared/comment come from the settings and
// are read-only. A mailbox's entries live with it: RENAME takes them along, DELETE ends them.
//
// Limits (§4.3): a value of at most maxValueSize octets (`NO [METADATA MAXSIZE n]`), at most
// maxEntries entries per account (`NO [METADATA TOOMANY]`). Private entries are kept on every
// mailbox and on the server, so `[METADATA NOPRIVATE]` never applies. No unsolicited METADATA
// responses are sent (they need ENABLE METADATA, §4.1), so ENABLE does not list it.

import type { ImapToken } from '../command-tokens.js';
import { metadataEntryMatches } from '../metadata-entries.js';
import { imapAString, imapString, ResponseBuilder } from '../response.js';
import type { MetadataChange, MetadataEntry, MetadataSettings } from '../session-types.js';
import { defineCommand, type ImapContext, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { astringArgument, mailboxName, wireName } from './mailbox-arguments.js';
import { parseGetMetadata, parseSetMetadata } from './metadata-arguments.js';

/** The limits when the session's options set none (README, "## IMAP"). */
export const DEFAULT_METADATA_SETTINGS = {
  // Far above the RFC's floor (1024 octets, 10 entries, §4.3), far below a command's 64 KiB.
  maxValueSize: 16_384,
  maxEntries: 1_000,
} as const;

/** The server entries that come from the settings, not from the store. */
const SERVER_ADMIN = '/shared/admin';
const SERVER_COMMENT = '/shared/comment';

/** The mailbox argument: null for "" (the server's entries, §3.1), else the stored name. */
function metadataMailbox(token: ImapToken, utf8: boolean): string | null | ImapReply {
  const wire = astringArgument(token, 'mailbox name');
  if (wire instanceof ImapReply) return wire;
  return wire === '' ? null : mailboxName(token, utf8);
}

function limits(context: ImapContext): Required<Pick<MetadataSettings, 'maxValueSize' | 'maxEntries'>> {
  return { ...DEFAULT_METADATA_SETTINGS, ...context.options.metadata };
}

/** /shared/admin and /shared/comment of the server, as the settings say (§3.2.1.1). */
function serverEntries(context: ImapContext): MetadataEntry[] {
  const settings = context.options.metadata;
  // Every local domain has a postmaster (RFC 5321 §4.5.1; Tegami's is an alias of its first user).
  const at = context.account.address.lastIndexOf('@');
  const domain = at >= 0 ? context.account.address.slice(at + 1) : context.options.hostname;
  const admin = settings?.admin ?? `mailto:postmaster@${domain}`;
  return [
    { entry: SERVER_ADMIN, value: Buffer.from(admin) },
    ...(settings?.comment !== undefined
      ? [{ entry: SERVER_COMMENT, value: Buffer.from(settings.comment) }]
      : []),
  ];
}

/**
 * A value as the grammar allows it (§5: nstring / literal8): quoted when it is short
 * printable ASCII, a literal otherwise, a literal8 when it holds NUL (no literal may).
 */
function addValue(response: ResponseBuilder, value: Buffer | null): void {
  if (value === null) response.add('NIL');
  else if (value.includes(0)) response.literal(value, true);
  else if (value.length <= 1024 && value.every((octet) => octet >= 0x20 && octet < 0x7f)) {
    response.add(imapString(value.toString('latin1')));
  } else response.literal(value);
}

export const getmetadata = defineCommand({
  name: 'GETMETADATA',
  states: LOGGED_IN,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' ? [] : ['METADATA', 'METADATA-SERVER'],
  }),
  parse: parseGetMetadata,
  async handle({ mailbox, entries, depth, maxSize }, context) {
    const target = metadataMailbox(mailbox, context.utf8);
    if (target instanceof ImapReply) return target;
    const stored = await context.account.getMetadata(target, entries, depth);
    if (stored === 'nonexistent') return no('[NONEXISTENT] no such mailbox');
    const found =
      target === null
        ? [
            ...stored,
            ...serverEntries(context).filter((s) =>
              entries.some((e) => metadataEntryMatches(e, s.entry, depth)),
            ),
          ].sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0))
        : stored;
    // In the client's order, each entry named once. An entry asked for by name (DEPTH 0) that
    // has no value is NIL; below an entry, only those that exist (as Dovecot answers).
    const answer: { entry: string; value: Buffer | null }[] = [];
    const said = new Set<string>();
    let longest = 0;
    for (const requested of entries) {
      const matching = found.filter((f) => metadataEntryMatches(requested, f.entry, depth));
      if (matching.length === 0 && depth === '0' && !said.has(requested)) {
        said.add(requested);
        answer.push({ entry: requested, value: null });
      }
      for (const { entry, value } of matching) {
        if (said.has(entry)) continue;
        said.add(entry);
        // §4.2.1: what is over MAXSIZE is left out, and the largest such is told.
        if (maxSize !== undefined && value.length > maxSize) longest = Math.max(longest, value.length);
        else answer.push({ entry, value });
      }
    }
    if (answer.length > 0) {
      const response = new ResponseBuilder().add(
        `* METADATA ${target === null ? '""' : wireName(target, context.utf8)} (`,
      );
      answer.forEach(({ entry, value }, i) => {
        response.add(`${i > 0 ? ' ' : ''}${imapAString(entry)} `);
        addValue(response, value);
      });
      await context.write(response.add(')\r\n').build());
    }
    return ok(`${longest > 0 ? `[METADATA LONGENTRIES ${longest}] ` : ''}GETMETADATA completed`);
  },
});

export const setmetadata = defineCommand({
  name: 'SETMETADATA',
  states: LOGGED_IN,
  parse: parseSetMetadata,
  async handle({ mailbox, changes }, context) {
    const target = metadataMailbox(mailbox, context.utf8);
    if (target instanceof ImapReply) return target;
    const { maxValueSize, maxEntries } = limits(context);
    // The last change of an entry named twice counts, as if they were applied in order.
    const byEntry = new Map<string, MetadataChange>();
    for (const change of changes) {
      if (target === null && (change.entry === SERVER_ADMIN || change.entry === SERVER_COMMENT)) {
        return no(`[NOPERM] the server's ${change.entry} is set by the operator`);
      }
      if (change.value && change.value.length > maxValueSize) {
        return no(`[METADATA MAXSIZE ${maxValueSize}] the value of ${change.entry} is too large`);
      }
      byEntry.delete(change.entry);
      byEntry.set(change.entry, change);
    }
    const result = await context.account.setMetadata(target, [...byEntry.values()], maxEntries);
    if (result === 'nonexistent') return no('[NONEXISTENT] no such mailbox');
    if (result === 'too-many') return no(`[METADATA TOOMANY] an account holds at most ${maxEntries} entries`);
    return ok('SETMETADATA completed');
  },
});
