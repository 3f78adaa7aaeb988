// Commands on the messages of the selected mailbox (RFC 3501 §6.4, RFC 9051 §6.4): FETCH,
// STORE, SEARCH (with RFC 4731 ESEARCH), COPY, MOVE (RFC 6851), EXPUNGE and UID EXPUNGE
// (RFC 4315), CLOSE, UNSELECT, and APPEND (with UIDPLUS's APPENDUID).

import { formatBodyStructure } from '../mime/body-structure.js';
import type { Envelope } from '../mime/envelope.js';
import { formatEnvelope } from '../mime/envelope.js';
import type { ImapToken } from './command-reader.js';
import { type FetchItem, fetchNeeds, fetchSetsSeen, parseFetchItems } from './fetch-items.js';
import { applyPartial, binarySize, decodeSectionBinary, extractSection } from './fetch-section.js';
import { MailboxCommands } from './mailbox-commands.js';
import { formatInternalDate, type ImapChunk, parseInternalDate, ResponseBuilder } from './response.js';
import { BadCharsetError, parseSearchCriteria, SEARCH_CHARSETS } from './search-keys.js';
import { formatSequenceSet, parseSequenceSet, resolveSequenceSet } from './sequence-set.js';
import { bad, type ImapReply, no, ok, type SessionContext } from './session.js';
import type { FetchedMessage, FlagOperation, SearchNode } from './session-types.js';
import { astringOf, ImapSyntaxError, isAtom } from './wire-values.js';

/** Messages per store round trip in a FETCH: bounds memory for `FETCH 1:* BODY[]`. */
const FETCH_BATCH = 100;
const SYSTEM_FLAGS = new Set(['\\answered', '\\flagged', '\\deleted', '\\seen', '\\draft']);

export class MessageCommands {
  private readonly mailboxes: MailboxCommands;

  constructor(private readonly session: SessionContext) {
    this.mailboxes = new MailboxCommands(session);
  }

  private get selected() {
    const selected = this.session.selected;
    if (!selected) throw bad('no mailbox selected');
    return selected;
  }

  run(name: string, args: readonly ImapToken[], uid: boolean, tag: string): Promise<ImapReply> {
    void tag;
    switch (name) {
      case 'FETCH':
        return this.fetch(args, uid);
      case 'STORE':
        return this.store(args, uid);
      case 'SEARCH':
        return this.search(args, uid, tag);
      case 'COPY':
      case 'MOVE':
        return this.copy(args, uid, name === 'MOVE');
    }
    return Promise.resolve(bad('unknown command'));
  }

  /**
   * The UIDs a sequence set (or UID set) names now, in ascending order. Sequence numbers
   * past the end are an error (RFC 3501 §9 seq-number); UIDs that do not exist are skipped.
   * The ranges are merged first, so `1:*,1:*,…` repeated to the line limit costs one walk
   * of the mailbox, not one per range.
   */
  resolveSet(text: string, uid: boolean): number[] | undefined {
    const selected = this.selected;
    const set = parseSequenceSet(text);
    if (!set) return undefined;
    if (set.savedResult) {
      const saved = new Set(this.session.savedResult);
      return [...selected.allUids()].filter((u) => saved.has(u));
    }
    const all = selected.allUids();
    // Index ranges [first, end) of the view, in order and disjoint.
    const slices: [number, number][] = [];
    if (uid) {
      for (const { from, to } of resolveSequenceSet(set, selected.largestUid())) {
        slices.push([lowerBound(all, from), lowerBound(all, to + 1)]);
      }
    } else {
      const exists = all.length;
      for (const range of set.ranges) {
        if ((range.from !== '*' && range.from > exists) || (range.to !== '*' && range.to > exists)) {
          throw bad('message sequence number out of range');
        }
      }
      // RFC 9051 §9 seq-number: "*" in an empty mailbox is past the end too.
      if (exists === 0) throw bad('message sequence number out of range');
      for (const { from, to } of resolveSequenceSet(set, exists)) slices.push([from - 1, to]);
    }
    // The common case, one range (1:*, 5:9, UID 100:*): a copy of a slice.
    if (slices.length === 1) return Array.from(all.subarray(slices[0]![0], slices[0]![1]));
    const out: number[] = [];
    for (const [first, end] of slices) for (let i = first; i < end; i++) out.push(all[i]!);
    return out;
  }

  // ---- FETCH ----

  private async fetch(args: readonly ImapToken[], uid: boolean): Promise<ImapReply> {
    if (args.length < 2 || args[0]?.type !== 'atom') return bad('FETCH needs a sequence set and items');
    let items: FetchItem[];
    try {
      items = parseFetchItems(args[1]!);
    } catch (err) {
      if (err instanceof ImapSyntaxError) return bad(err.message);
      throw err;
    }
    if (args.length > 2) return bad('FETCH modifiers are not supported');
    const uids = this.resolveSet(args[0].value, uid);
    if (!uids) return bad('invalid sequence set');
    if (uid && !items.some((i) => i.kind === 'uid')) items.unshift({ kind: 'uid' });
    const selected = this.selected;
    const needs = fetchNeeds(items);
    const setSeen = fetchSetsSeen(items) && !selected.readOnly;
    if (items.every((i) => i.kind === 'uid' || i.kind === 'flags')) {
      // What a client asks on every open (FETCH 1:* (UID FLAGS)): the session's view has
      // it, so the store is asked only what changed, if anything did (no EXPUNGE now:
      // RFC 3501 §7.4.1; messages expunged elsewhere are left out of the answer).
      const update = selected.dirty ? await selected.sync(false) : undefined;
      await this.writeBatched(
        // A message expunged elsewhere is not shown, as when the store is asked.
        this.flagsAndUidLines(selected.known(uids), items),
      );
      // News after the answers, as after any command; held expunges wait for the
      // end-of-command sync, which sends them where they are allowed.
      if (update) await this.session.announce(update);
      if (selected.hasPendingExpunges) selected.dirty = true;
      return ok(`${uid ? 'UID FETCH' : 'FETCH'} completed`);
    }
    let failed = false;
    for (let start = 0; start < uids.length; ) {
      // Without bodies a batch is just rows; with them it is capped in bytes as well.
      const batch = uids.slice(start, start + (needs.raw ? 20 : FETCH_BATCH * 10));
      start += batch.length;
      const messages = await selected.box.fetch(batch, needs);
      let seenNow = new Map<number, readonly string[]>();
      if (setSeen) {
        const unseen = messages.filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid);
        if (unseen.length > 0) {
          const changed = await selected.box.store(unseen, 'add', ['\\Seen']);
          seenNow = new Map(changed.map((c) => [c.uid, c.flags]));
          for (const c of changed) selected.noteFlags(c.uid, c.flags);
        }
      }
      // Small answers go out together, a message body as its own chunks.
      let text: string[] = [];
      const flush = async () => {
        if (text.length > 0) await this.session.write(text.join(''));
        text = [];
      };
      for (const message of messages) {
        const seq = selected.seqOf(message.uid);
        if (seq === 0) continue;
        const flags = seenNow.get(message.uid);
        const built = this.fetchResponse(
          seq,
          flags ? { ...message, flags } : message,
          items,
          flags !== undefined,
        );
        if (built === 'failed') {
          failed = true;
          continue;
        }
        if (built.length === 1 && typeof built[0] === 'string') {
          text.push(built[0]);
          if (text.length >= 256) await flush();
        } else {
          await flush();
          await this.session.write(built);
        }
      }
      await flush();
    }
    if (failed) return no('[UNKNOWN-CTE] some parts could not be decoded');
    return ok(`${uid ? 'UID FETCH' : 'FETCH'} completed`);
  }

  /** FETCH lines of UID and FLAGS only; flag lists are formatted once per distinct set. */
  private flagsAndUidLines(
    known: readonly { seq: number; uid: number; flags: readonly string[] }[],
    items: readonly FetchItem[],
  ): string[] {
    const formatted = new Map<readonly string[], string>();
    const lines: string[] = new Array(known.length);
    for (let n = 0; n < known.length; n++) {
      const { seq, uid, flags } = known[n]!;
      let flagText = this.selected.isRecent(uid) ? undefined : formatted.get(flags);
      if (flagText === undefined) {
        flagText = `FLAGS (${this.flagList({ uid, flags })})`;
        if (!this.selected.isRecent(uid)) formatted.set(flags, flagText);
      }
      let line = `* ${seq} FETCH (`;
      for (let k = 0; k < items.length; k++) {
        if (k > 0) line += ' ';
        line += items[k]!.kind === 'uid' ? `UID ${uid}` : flagText;
      }
      lines[n] = `${line})\r\n`;
    }
    return lines;
  }

  /** Lines written in batches of about 64 KiB: one write per line costs more than the line. */
  private async writeBatched(lines: readonly string[]): Promise<void> {
    let batch: string[] = [];
    let size = 0;
    for (const line of lines) {
      batch.push(line);
      size += line.length;
      if (size >= 65_536) {
        await this.session.write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) await this.session.write(batch.join(''));
  }

  private fetchResponse(
    seq: number,
    message: FetchedMessage,
    items: readonly FetchItem[],
    flagsChanged: boolean,
  ): ImapChunk[] | 'failed' {
    const out = new ResponseBuilder().add(`* ${seq} FETCH (`);
    const utf8 = { utf8: this.session.utf8 };
    let first = true;
    const sep = () => {
      if (!first) out.add(' ');
      first = false;
    };
    let sentFlags = false;
    for (const item of items) {
      sep();
      switch (item.kind) {
        case 'uid':
          out.add(`UID ${message.uid}`);
          break;
        case 'flags':
          out.add(`FLAGS (${this.flagList(message)})`);
          sentFlags = true;
          break;
        case 'internaldate':
          out.add(`INTERNALDATE "${formatInternalDate(message.internalDate)}"`);
          break;
        case 'size':
          out.add(`RFC822.SIZE ${message.size}`);
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
        case 'section': {
          const raw = message.raw!;
          const data = extractSection(raw, message.metadata!.root, item.spec);
          const name = item.name === 'BODY' ? `BODY[${item.specText}]` : item.name;
          const origin = item.partial ? `<${item.partial.origin}>` : '';
          out.add(`${name}${origin} `);
          // A section that does not exist is empty, as Dovecot answers (not an error).
          if (data === undefined) out.add('""');
          else
            out.literal(item.partial ? applyPartial(data, item.partial.offset, item.partial.length) : data);
          break;
        }
        case 'binary': {
          const decoded = decodeSectionBinary(message.raw!, message.metadata!.root, item.part);
          if (decoded === 'unknown-encoding') return 'failed';
          const origin = item.partial ? `<${item.partial.origin}>` : '';
          out.add(`BINARY[${item.part.join('.')}]${origin} `);
          if (decoded === undefined) out.add('""');
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
    if (flagsChanged && !sentFlags) out.add(` FLAGS (${this.flagList(message)})`);
    out.add(')\r\n');
    return out.build();
  }

  private flagList(message: { uid: number; flags: readonly string[] }): string {
    const selected = this.selected;
    const recent = selected.isRecent(message.uid) && !this.session.rev2;
    return (recent ? [...message.flags, '\\Recent'] : message.flags).join(' ');
  }

  // ---- STORE ----

  private async store(args: readonly ImapToken[], uid: boolean): Promise<ImapReply> {
    if (args.length < 3 || args[0]?.type !== 'atom' || args[1]?.type !== 'atom') {
      return bad('STORE needs a sequence set, an item and flags');
    }
    const selected = this.selected;
    const m = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(args[1].value);
    if (!m) return bad('unknown STORE item');
    const operation: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
    const silent = m[2] !== undefined;
    const flagTokens = args.length === 3 && args[2]!.type === 'list' ? args[2]!.items : args.slice(2);
    const flags: string[] = [];
    for (const token of flagTokens) {
      if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
      // \Recent is the server's to set (RFC 3501 §2.3.2).
      if (token.value.toLowerCase() === '\\recent') continue;
      flags.push(token.value);
    }
    const uids = this.resolveSet(args[0].value, uid);
    if (!uids) return bad('invalid sequence set');
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    const live = uids.filter((u) => !selected.isGone(u));
    const changed = live.length > 0 ? await selected.box.store(live, operation, flags) : [];
    const changedBy = new Map(changed.map((c) => [c.uid, c.flags]));
    for (const c of changed) selected.noteFlags(c.uid, c.flags);
    if (!silent) {
      // Every message named gets its flags back, changed or not (RFC 3501 §6.4.6).
      const lines: string[] = [];
      for (const u of live) {
        const seq = selected.seqOf(u);
        const flagsNow = changedBy.get(u) ?? selected.flagsOf(u);
        lines.push(
          `* ${seq} FETCH (${uid ? `UID ${u} ` : ''}FLAGS (${this.flagList({ uid: u, flags: flagsNow })}))\r\n`,
        );
      }
      if (lines.length > 0) await this.session.write(lines.join(''));
    }
    return ok(`${uid ? 'UID STORE' : 'STORE'} completed`);
  }

  // ---- SEARCH ----

  private async search(args: readonly ImapToken[], uid: boolean, tag: string): Promise<ImapReply> {
    let at = 0;
    let returns: Set<string> | undefined;
    const first = args[0];
    if (first?.type === 'atom' && first.value.toUpperCase() === 'RETURN') {
      const list = args[1];
      if (list?.type !== 'list') return bad('RETURN needs a list');
      returns = new Set();
      for (const item of list.items) {
        if (
          item.type !== 'atom' ||
          !['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'].includes(item.value.toUpperCase())
        ) {
          return bad('unknown RETURN option');
        }
        returns.add(item.value.toUpperCase());
      }
      if (returns.size === 0) returns.add('ALL');
      at = 2;
    }
    const charsetToken = args[at];
    if (charsetToken?.type === 'atom' && charsetToken.value.toUpperCase() === 'CHARSET') {
      const charset = astringOf(args[at + 1])?.toUpperCase();
      if (!charset) return bad('CHARSET needs a name');
      if (!SEARCH_CHARSETS.includes(charset))
        return no(`[BADCHARSET (${SEARCH_CHARSETS.join(' ')})] unsupported charset`);
      at += 2;
    }
    let criteria: SearchNode;
    try {
      criteria = parseSearchCriteria(args.slice(at), {
        resolveSet: (text, isUid) => this.resolveSet(text, isUid),
        recentUids: () => this.selected.recentUids(),
      });
    } catch (err) {
      if (err instanceof ImapSyntaxError) return bad(err.message);
      if (err instanceof BadCharsetError)
        return no(`[BADCHARSET (${SEARCH_CHARSETS.join(' ')})] ${err.message}`);
      throw err;
    }
    const selected = this.selected;
    const matched = (await selected.box.search(criteria))
      .filter((u) => selected.seqOf(u) > 0)
      .sort((a, b) => a - b);
    const numbers = uid ? matched : matched.map((u) => selected.seqOf(u));
    if (returns || this.session.rev2) {
      const options = returns ?? new Set(['ALL']);
      const parts = [`(TAG "${tag}")`];
      if (uid) parts.push('UID');
      // Ascending: the ends are MIN and MAX (Math.min(...numbers) overflows the stack past ~120,000).
      if (options.has('MIN') && numbers.length > 0) parts.push(`MIN ${numbers[0]}`);
      if (options.has('MAX') && numbers.length > 0) parts.push(`MAX ${numbers.at(-1)}`);
      if (options.has('ALL') && numbers.length > 0) parts.push(`ALL ${formatSequenceSet(numbers)}`);
      if (options.has('COUNT')) parts.push(`COUNT ${numbers.length}`);
      if (options.has('SAVE')) this.session.savedResult = matched;
      await this.session.write(`* ESEARCH ${parts.join(' ')}\r\n`);
    } else {
      await this.session.write(`* SEARCH${numbers.map((n) => ` ${n}`).join('')}\r\n`);
    }
    return ok(`${uid ? 'UID SEARCH' : 'SEARCH'} completed`);
  }

  // ---- COPY / MOVE ----

  private async copy(args: readonly ImapToken[], uid: boolean, move: boolean): Promise<ImapReply> {
    if (args.length !== 2 || args[0]?.type !== 'atom') return bad('needs a sequence set and a mailbox');
    const selected = this.selected;
    const uids = this.resolveSet(args[0].value, uid);
    if (!uids) return bad('invalid sequence set');
    const target = this.mailboxes.mailboxName(args[1]);
    if (move && selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    const live = uids.filter((u) => !selected.isGone(u));
    if (live.length === 0) return ok(`${move ? 'MOVE' : 'COPY'} completed (nothing to do)`);
    const result = await selected.box.copy(live, target, move);
    if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
    if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
    const copyuid = `COPYUID ${result.uidValidity} ${formatSequenceSet(result.source)} ${formatSequenceSet(result.target)}`;
    if (move) {
      // RFC 6851 §4.3: COPYUID in an untagged OK, then EXPUNGEs, then the tagged OK.
      await this.session.write(`* OK [${copyuid}] moved\r\n`);
      await this.session.announce(await selected.sync(true));
      return ok(`${uid ? 'UID MOVE' : 'MOVE'} completed`);
    }
    return ok(`[${copyuid}] ${uid ? 'UID COPY' : 'COPY'} completed`);
  }

  // ---- EXPUNGE / CLOSE / UNSELECT ----

  async expunge(args: readonly ImapToken[], uid: boolean): Promise<ImapReply> {
    const selected = this.selected;
    let uids: readonly number[] = [...selected.allUids()];
    if (uid) {
      if (args.length !== 1 || args[0]?.type !== 'atom') return bad('UID EXPUNGE needs a UID set');
      const named = this.resolveSet(args[0].value, true);
      if (!named) return bad('invalid UID set');
      uids = named;
    } else if (args.length > 0) return bad('EXPUNGE takes no arguments');
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    // The store decides what has \Deleted now: another session may have set or cleared it.
    const live = uids.filter((u) => !selected.isGone(u));
    if (live.length > 0) await selected.box.expunge(live);
    await this.session.announce(await selected.sync(true));
    return ok(`${uid ? 'UID EXPUNGE' : 'EXPUNGE'} completed`);
  }

  async close(expunge: boolean): Promise<ImapReply> {
    const selected = this.selected;
    if (expunge && !selected.readOnly) {
      // CLOSE expunges silently (RFC 3501 §6.4.2).
      if (selected.exists > 0) await selected.box.expunge([...selected.allUids()]);
    }
    this.session.select(undefined);
    return ok(`${expunge ? 'CLOSE' : 'UNSELECT'} completed`);
  }

  // ---- APPEND ----

  async append(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length < 2) return bad('APPEND needs a mailbox and a message');
    const name = this.mailboxes.mailboxName(args[0]);
    let at = 1;
    let flags: string[] = [];
    if (args[at]?.type === 'list') {
      const list = args[at] as { items: readonly ImapToken[] };
      flags = [];
      for (const token of list.items) {
        if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
        if (token.value.toLowerCase() !== '\\recent') flags.push(token.value);
      }
      at++;
    }
    let internalDate: Date | undefined;
    const maybeDate = args[at];
    if (maybeDate?.type === 'string' && !maybeDate.literal) {
      internalDate = parseInternalDate(maybeDate.value.toString('latin1'));
      if (!internalDate) return bad('invalid date-time');
      at++;
    }
    let message = args[at];
    // RFC 6855 §4 (UTF8=ACCEPT): APPEND … UTF8 (~{n}…), a message with UTF-8 headers.
    const utf8Data = args[at + 1];
    if (message?.type === 'atom' && message.value.toUpperCase() === 'UTF8' && utf8Data?.type === 'list') {
      if (!this.session.utf8) return bad('UTF8 needs ENABLE UTF8=ACCEPT');
      if (utf8Data.items.length !== 1) return bad('UTF8 takes one message');
      message = utf8Data.items[0];
      if (args.length !== at + 2) return bad('APPEND needs one message');
      at = args.length - 1;
    }
    if (message?.type !== 'string' || args.length !== at + 1) {
      // MULTIAPPEND is not offered.
      return bad('APPEND needs one message literal');
    }
    if (message.value.length === 0) return no('an empty message cannot be appended');
    if (message.value.length > this.session.options.maxMessageSize)
      return no('[TOOBIG] the message is too large');
    const result = await this.session.account.append(name, {
      raw: message.value,
      flags,
      ...(internalDate && { internalDate }),
    });
    if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
    if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
    if (this.session.selected) this.session.selected.dirty = true;
    return ok(`[APPENDUID ${result.uidValidity} ${result.uid}] APPEND completed`);
  }
}

function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** flag = "\" atom (system flags only) / keyword atom (RFC 3501 §9). */
function validFlag(flag: string): boolean {
  if (flag.startsWith('\\')) return SYSTEM_FLAGS.has(flag.toLowerCase()) || flag.toLowerCase() === '\\recent';
  return isAtom(flag);
}
