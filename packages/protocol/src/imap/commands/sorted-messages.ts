// What SORT and THREAD share (RFC 5256 §3–4): `search-criteria = charset 1*(SP search-key)`
// read as SEARCH reads its keys (search-keys.ts, any charset the MIME layer decodes), and
// the matching messages with what they are sorted and threaded by: the ENVELOPE, internal
// date and size the store keeps, and for THREAD=REFERENCES the References field from the
// stored header bytes.

import type { ImapToken } from '../command-tokens.js';
import { searchCharset } from '../search-keys.js';
import type { StoredMetadata } from '../session-types.js';
import { referencesField } from '../thread-ids.js';
import type { ThreadableMessage } from '../thread-references.js';
import { astringOf } from '../wire-values.js';
import { bad, type ImapContext, ImapReply } from './command-spec.js';
import { badCharset, resolveThreadIds, searchCriteria } from './search-results.js';

export interface CharsetAndKeys {
  readonly charset: string;
  readonly keys: readonly ImapToken[];
}

/** The mandatory charset and at least one search key, from `args[at]` on. */
export function charsetAndKeys(args: readonly ImapToken[], at: number): CharsetAndKeys | ImapReply {
  const charset = astringOf(args[at])?.toUpperCase();
  if (!charset) return bad('charset expected');
  if (!searchCharset(charset)) return badCharset('unsupported charset');
  const keys = args.slice(at + 1);
  if (keys.length === 0) return bad('search criteria missing');
  return { charset, keys };
}

/** Messages described at a time: the store answers each batch in one round trip. */
const BATCH = 1_000;

/**
 * The messages of the session's view that match, in sequence number order, with their sort
 * and thread keys (`references` read only when asked: it needs the header bytes).
 */
export async function matchingMessages(
  context: ImapContext,
  { charset, keys }: CharsetAndKeys,
  withReferences: boolean,
): Promise<ThreadableMessage[] | ImapReply> {
  const selected = context.selected!;
  const parsed = searchCriteria(context, keys, charset);
  if (parsed instanceof ImapReply) return parsed;
  const criteria = await resolveThreadIds(context, parsed);
  const uids = (await selected.box.search(criteria))
    .filter((u) => selected.seqOf(u) > 0)
    .sort((a, b) => a - b);
  const messages: ThreadableMessage[] = [];
  for (let start = 0; start < uids.length; start += BATCH) {
    const batch = uids.slice(start, start + BATCH);
    const found = selected.box.describe
      ? await selected.box.describe(batch, withReferences)
      : await selected.box.fetch(batch, { metadata: true, raw: withReferences, header: withReferences });
    for (const fact of found) {
      const seq = selected.seqOf(fact.uid);
      const metadata: StoredMetadata | undefined = fact.metadata;
      if (seq === 0 || !metadata) continue;
      const header = 'header' in fact ? fact.header : 'raw' in fact ? fact.raw : undefined;
      messages.push({
        seq,
        uid: fact.uid,
        internalDate: fact.internalDate,
        size: fact.size,
        envelope: metadata.envelope,
        references: header ? referencesField(header, metadata) : null,
      });
    }
  }
  // describe() may answer in UID order from a cache; sequence order is UID order in a view.
  return messages.sort((a, b) => a.seq - b.seq);
}
