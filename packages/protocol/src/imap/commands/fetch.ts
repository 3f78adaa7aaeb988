// FETCH and UID FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5, RFC 3516 BINARY): the items are
// parsed by fetch-items.ts and sections cut by fetch-section.ts; this answers them, in
// batches so that `FETCH 1:* BODY[]` holds a bounded number of messages at a time.

import { formatBodyStructure } from '../../mime/body-structure.js';
import { type Envelope, formatEnvelope } from '../../mime/envelope.js';
import { messagePreview } from '../../mime/preview.js';
import type { ImapToken } from '../command-tokens.js';
import { type FetchItem, fetchNeeds, fetchSetsSeen, parseFetchItems } from '../fetch-items.js';
import { applyPartial, binarySize, decodeSectionBinary, extractSection } from '../fetch-section.js';
import { formatInternalDate, type ImapChunk, ResponseBuilder, WriteBatch } from '../response.js';
import type { KnownMessage, SelectedMailbox } from '../selected-mailbox.js';
import type { FetchedMessage } from '../session-types.js';
import { referencesField, threadIdOf } from '../thread-ids.js';
import { ImapSyntaxError } from '../wire-values.js';
import { bad, defineCommand, type ImapContext, ImapReply, no, ok, SELECTED } from './command-spec.js';
import { enableCondstore, formatRanges, parseModseq, vanishedEarlier, vanishedRanges } from './condstore.js';
import { flagList } from './flags.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';

/** An empty section's content. */
const EMPTY = new Uint8Array(0);

/** Messages per store round trip in a FETCH: bounds memory for `FETCH 1:* BODY[]`. */
const FETCH_BATCH = 100;

export const fetch = defineCommand({
  name: 'FETCH',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['BINARY', 'PREVIEW'] }),
  parse(args) {
    if (args.length < 2 || args[0]?.type !== 'atom') return bad('FETCH needs a sequence set and items');
    let items: FetchItem[];
    try {
      items = parseFetchItems(args[1]!);
    } catch (err) {
      if (err instanceof ImapSyntaxError) return bad(err.message);
      throw err;
    }
    if (args.length > 3) return bad('too many FETCH arguments');
    const modifiers = args.length === 3 ? parseFetchModifiers(args[2]!) : NO_MODIFIERS;
    if (modifiers instanceof ImapReply) return modifiers;
    return { set: args[0].value, items, ...modifiers };
  },
  async handle({ set, items, changedSince, vanished }, context, { uid }) {
    const selected = context.selected!;
    // RFC 7162 §3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE, once QRESYNC is on.
    if (vanished && (!uid || !context.qresync)) return bad('VANISHED needs UID FETCH and ENABLE QRESYNC');
    let uids = resolveMessageSet(selected, context.savedResult, set, uid);
    if (uids === 'invalid') return bad('invalid sequence set');
    if (uids === 'out-of-range') return bad(OUT_OF_RANGE);
    if (uid && !items.some((i) => i.kind === 'uid')) items.unshift({ kind: 'uid' });
    if (changedSince !== undefined || items.some((i) => i.kind === 'modseq')) await enableCondstore(context);
    if (changedSince !== undefined) {
      // RFC 7162 §3.1.4.1: only messages whose MODSEQ is above it, with MODSEQ in the answer.
      if (!items.some((i) => i.kind === 'modseq')) items.push({ kind: 'modseq' });
      const history = await selected.box.history(changedSince);
      if (vanished) {
        const ranges = vanishedRanges(set);
        const gone = ranges ? vanishedEarlier(selected, history, ranges) : [];
        if (gone.length > 0) await context.write(`* VANISHED (EARLIER) ${formatRanges(gone)}\r\n`);
      }
      const changed = new Set(history.changed.map((m) => m.uid));
      uids = uids.filter((u) => changed.has(u));
    }
    const done = ok(`${uid ? 'UID FETCH' : 'FETCH'} completed`);
    if (items.every((i) => i.kind === 'uid' || i.kind === 'flags' || i.kind === 'modseq')) {
      // What a client asks on every open (FETCH 1:* (UID FLAGS), with MODSEQ once
      // CONDSTORE is on, as imapflow always asks): the session's view has
      // it, so the store is asked only what changed, if anything did (no EXPUNGE now:
      // RFC 3501 §7.4.1; messages expunged elsewhere are left out of the answer).
      const update = selected.dirty ? await selected.sync(false) : undefined;
      const known = selected.known(uids);
      if (items.some((i) => i.kind === 'flags')) await announceKeywords(context, selected, known);
      await writeBatched(context, flagsAndUidLines(context, selected, known, items));
      // News after the answers, as after any command; held expunges wait for the
      // end-of-command sync, which sends them where they are allowed.
      if (update) await context.announce(update);
      if (selected.hasPendingExpunges) selected.dirty = true;
      return done;
    }
    const needs = fetchNeeds(items);
    const failed = canDescribe(selected, items, needs)
      ? await fetchDescribed(context, selected, uids, items, needs.header)
      : await fetchMessages(context, selected, uids, items);
    return failed ? no('[UNKNOWN-CTE] some parts could not be decoded') : done;
  },
});

interface FetchModifiers {
  readonly changedSince: bigint | undefined;
  readonly vanished: boolean;
}

const NO_MODIFIERS: FetchModifiers = { changedSince: undefined, vanished: false };

/** RFC 7162 §3.1.4, §3.2.6: `(CHANGEDSINCE mod-sequence-value [VANISHED])`, in any order. */
function parseFetchModifiers(token: ImapToken): FetchModifiers | ImapReply {
  if (token.type !== 'list' || token.items.length === 0) return bad('FETCH modifiers are a list');
  let changedSince: bigint | undefined;
  let vanished = false;
  const items = token.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'CHANGEDSINCE' && changedSince === undefined) {
      const value = items[++i];
      // The grammar says 1 or more; 0 ("everything") is taken, as Dovecot takes it.
      changedSince = value?.type === 'atom' ? parseModseq(value.value, true) : undefined;
      if (changedSince === undefined) return bad('CHANGEDSINCE needs a MODSEQ (0 to 9223372036854775807)');
    } else if (name === 'VANISHED' && !vanished) vanished = true;
    else return bad('unknown FETCH modifier');
  }
  if (vanished && changedSince === undefined) return bad('VANISHED needs CHANGEDSINCE');
  return { changedSince, vanished };
}

/**
 * Whether the FETCH needs only what never changes about a message (dates, sizes, envelope,
 * structure, header fields) besides what the view knows (UID, flags): then the store's
 * describe() answers it, from its cache once the messages are known (MODSEQ from the view
 * too). Bodies and a FETCH that sets \Seen go to fetch().
 */
function canDescribe(
  selected: SelectedMailbox,
  items: readonly FetchItem[],
  needs: { raw: boolean; header: boolean },
): boolean {
  if (!selected.box.describe || (needs.raw && !needs.header)) return false;
  // SAVEDATE comes from fetch()'s row, which reads it with the dates and sizes; EMAILID is
  // one of the facts when the store describes it (imapflow asks for it in every FETCH).
  const fromFetch = items.some((i) => i.kind === 'savedate');
  return !fromFetch && !fetchSetsSeen(items);
}

/** FETCH from the store's unchanging facts and the view's flags: true when a part failed. */
async function fetchDescribed(
  context: ImapContext,
  selected: SelectedMailbox,
  uids: readonly number[],
  items: readonly FetchItem[],
  header: boolean,
): Promise<boolean> {
  // The flags answered are the view's, so the view is brought up to date first, as for
  // FETCH (UID FLAGS) above; no EXPUNGE is sent during a FETCH (RFC 3501 §7.4.1).
  const update = selected.dirty ? await selected.sync(false) : undefined;
  let failed = false;
  const batchSize = header ? FETCH_BATCH * 2 : FETCH_BATCH * 10;
  for (let start = 0; start < uids.length; ) {
    const known = selected.known(uids.slice(start, start + batchSize));
    start += batchSize;
    if (known.length === 0) continue;
    if (items.some((i) => i.kind === 'flags')) await announceKeywords(context, selected, known);
    const facts = await selected.box.describe!(
      known.map((k) => k.uid),
      header,
    );
    const out = new WriteBatch((chunk) => context.write(chunk));
    let k = 0;
    for (const fact of facts) {
      while (k < known.length && known[k]!.uid < fact.uid) k++;
      const seen = known[k];
      if (seen?.uid !== fact.uid) continue;
      const seq = selected.seqOf(fact.uid);
      if (seq === 0) continue;
      const message: FetchedMessage = {
        uid: fact.uid,
        flags: seen.flags,
        modseq: seen.modseq,
        internalDate: fact.internalDate,
        size: fact.size,
        metadata: fact.metadata,
        ...(fact.header && { raw: fact.header }),
        emailId: fact.emailId,
      };
      const built = fetchResponse(context, seq, message, items, false);
      if (built === 'failed') {
        failed = true;
        continue;
      }
      await out.add(built);
    }
    await out.flush();
  }
  if (update) await context.announce(update);
  if (selected.hasPendingExpunges) selected.dirty = true;
  return failed;
}

/** FETCH with what only the store has: true when some part could not be decoded. */
async function fetchMessages(
  context: ImapContext,
  selected: SelectedMailbox,
  uids: readonly number[],
  items: readonly FetchItem[],
): Promise<boolean> {
  const needs = fetchNeeds(items);
  // Without the `s` right (RFC 4314 §4) the body is read and \Seen stays as it is.
  const setSeen = fetchSetsSeen(items) && !selected.readOnly && (selected.box.rights?.includes('s') ?? true);
  let failed = false;
  for (let start = 0; start < uids.length; ) {
    // Without bodies a batch is just rows; with them it is capped in bytes as well.
    const batch = uids.slice(start, start + (needs.raw ? 20 : FETCH_BATCH * 10));
    start += batch.length;
    const messages = await selected.box.fetch(batch, needs);
    let seenNow = new Map<number, readonly string[]>();
    let modseqNow = new Map<number, bigint>();
    if (setSeen) {
      const unseen = messages.filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid);
      if (unseen.length > 0) {
        const changed = await selected.box.store(unseen, 'add', ['\\Seen']);
        seenNow = new Map(changed.map((c) => [c.uid, c.flags]));
        modseqNow = new Map(changed.map((c) => [c.uid, c.modseq]));
        for (const c of changed) selected.noteFlags(c.uid, c.flags, c.modseq);
      }
    }
    if (seenNow.size > 0 || items.some((i) => i.kind === 'flags')) {
      await announceKeywords(
        context,
        selected,
        messages.map((m) => ({ flags: seenNow.get(m.uid) ?? m.flags })),
      );
    }
    // The batch's answers go out together: one write for many messages, not one per piece.
    const out = new WriteBatch((chunk) => context.write(chunk));
    for (const message of messages) {
      const seq = selected.seqOf(message.uid);
      if (seq === 0) continue;
      const flags = seenNow.get(message.uid);
      const built = fetchResponse(
        context,
        seq,
        flags ? { ...message, flags, modseq: modseqNow.get(message.uid) ?? message.modseq } : message,
        items,
        flags !== undefined,
      );
      if (built === 'failed') {
        failed = true;
        continue;
      }
      await out.add(built);
    }
    await out.flush();
  }
  return failed;
}

/** FLAGS and PERMANENTFLAGS first when these messages' flags hold a keyword the client was not told of. */
async function announceKeywords(
  context: ImapContext,
  selected: SelectedMailbox,
  messages: readonly { readonly flags: readonly string[] }[],
): Promise<void> {
  const news = selected.keywordNews(messages.map((m) => m.flags));
  if (news) await context.write(news);
}

/** FETCH lines of UID and FLAGS only; flag lists are formatted once per distinct set. */
function flagsAndUidLines(
  context: ImapContext,
  selected: SelectedMailbox,
  known: readonly KnownMessage[],
  items: readonly FetchItem[],
): string[] {
  const formatted = new Map<readonly string[], string>();
  const lines: string[] = new Array(known.length);
  for (let n = 0; n < known.length; n++) {
    const { seq, uid, flags, modseq } = known[n]!;
    let flagText = selected.isRecent(uid) ? undefined : formatted.get(flags);
    if (flagText === undefined) {
      flagText = `FLAGS (${flagList(selected, context.rev2, { uid, flags })})`;
      if (!selected.isRecent(uid)) formatted.set(flags, flagText);
    }
    let line = `* ${seq} FETCH (`;
    for (let k = 0; k < items.length; k++) {
      if (k > 0) line += ' ';
      const kind = items[k]!.kind;
      line += kind === 'uid' ? `UID ${uid}` : kind === 'modseq' ? `MODSEQ (${modseq})` : flagText;
    }
    lines[n] = `${line})\r\n`;
  }
  return lines;
}

/** Lines written in batches of about 64 KiB: one write per line costs more than the line. */
async function writeBatched(context: ImapContext, lines: readonly string[]): Promise<void> {
  let batch: string[] = [];
  let size = 0;
  for (const line of lines) {
    batch.push(line);
    size += line.length;
    if (size >= 65_536) {
      await context.write(batch.join(''));
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) await context.write(batch.join(''));
}

function fetchResponse(
  context: ImapContext,
  seq: number,
  message: FetchedMessage,
  items: readonly FetchItem[],
  flagsChanged: boolean,
): ImapChunk[] | 'failed' {
  const out = new ResponseBuilder().add(`* ${seq} FETCH (`);
  const utf8 = { utf8: context.utf8 };
  const flags = () => `FLAGS (${flagList(context.selected, context.rev2, message)})`;
  let first = true;
  let sentFlags = false;
  for (const item of items) {
    if (!first) out.add(' ');
    first = false;
    switch (item.kind) {
      case 'uid':
        out.add(`UID ${message.uid}`);
        break;
      case 'flags':
        out.add(flags());
        sentFlags = true;
        break;
      case 'internaldate':
        out.add(`INTERNALDATE "${formatInternalDate(message.internalDate)}"`);
        break;
      case 'size':
        out.add(`RFC822.SIZE ${message.size}`);
        break;
      // RFC 8474 §5, RFC 8514 §4: objectids in parentheses; NIL for what there is not.
      case 'emailid':
        out.add(message.emailId === undefined ? 'EMAILID NIL' : `EMAILID (${message.emailId})`);
        break;
      case 'threadid': {
        const metadata = message.metadata!;
        const references = referencesField(message.raw!, metadata);
        out.add(`THREADID (${threadIdOf(metadata.envelope, references, message.emailId!)})`);
        break;
      }
      case 'savedate':
        out.add(message.savedAt ? `SAVEDATE "${formatInternalDate(message.savedAt)}"` : 'SAVEDATE NIL');
        break;
      case 'modseq':
        out.add(`MODSEQ (${message.modseq})`);
        break;
      case 'envelope':
        out.add(`ENVELOPE ${formatEnvelope(message.metadata!.envelope as Envelope, utf8)}`);
        break;
      case 'body':
        out.add(`BODY ${formatBodyStructure(message.metadata!.root, false, utf8)}`);
        break;
      case 'bodystructure':
        out.add(`BODYSTRUCTURE ${formatBodyStructure(message.metadata!.root, true, utf8)}`);
        break;
      case 'preview': {
        // A literal: the preview is UTF-8 text (RFC 8970 §3) and may hold any character.
        const preview = messagePreview(message.raw!, message.metadata!.root);
        out.add('PREVIEW ');
        if (preview === undefined) out.add('NIL');
        else out.literal(Buffer.from(preview, 'utf8'));
        break;
      }
      case 'section': {
        const data = extractSection(message.raw!, message.metadata!.root, item.spec);
        const name = item.name === 'BODY' ? `BODY[${item.specText}]` : item.name;
        const origin = item.partial ? `<${item.partial.origin}>` : '';
        out.add(`${name}${origin} `);
        // A section that does not exist is empty, as Dovecot answers (not an error), and in
        // the same form as an empty one that does: a literal {0}, as Dovecot sends both.
        if (data === undefined) out.literal(EMPTY);
        else out.literal(item.partial ? applyPartial(data, item.partial.offset, item.partial.length) : data);
        break;
      }
      case 'binary': {
        const decoded = decodeSectionBinary(message.raw!, message.metadata!.root, item.part);
        if (decoded === 'unknown-encoding') return 'failed';
        const origin = item.partial ? `<${item.partial.origin}>` : '';
        out.add(`BINARY[${item.part.join('.')}]${origin} `);
        if (decoded === undefined) out.literal(EMPTY);
        else {
          const data = item.partial
            ? applyPartial(decoded.data, item.partial.offset, item.partial.length)
            : decoded.data;
          // RFC 3516 §4.3: literal8 when the data holds NUL.
          out.literal(data, data.includes(0));
        }
        break;
      }
      case 'binary-size': {
        const size = binarySize(message.metadata!.root, item.part);
        if (size === 'unknown-encoding') return 'failed';
        out.add(`BINARY.SIZE[${item.part.join('.')}] ${size ?? 0}`);
        break;
      }
    }
  }
  if (flagsChanged && !sentFlags) out.add(` FLAGS (${flagList(context.selected, context.rev2, message)})`);
  // Flags changed by the FETCH itself (\Seen): a CONDSTORE client learns the new MODSEQ too.
  if (flagsChanged && context.condstore && !items.some((i) => i.kind === 'modseq'))
    out.add(` MODSEQ (${message.modseq})`);
  out.add(')\r\n');
  return out.build();
}
