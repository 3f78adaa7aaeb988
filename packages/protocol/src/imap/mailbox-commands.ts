// Commands on mailboxes as wholes: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
// UNSUBSCRIBE, LIST (with RFC 5258 LIST-EXTENDED selection and return options, RFC 5819
// STATUS, RFC 6154 SPECIAL-USE), LSUB and STATUS. Names on the wire are modified UTF-7
// (RFC 3501 §5.1.3), or UTF-8 once the client has enabled IMAP4rev2 or UTF8=ACCEPT.

import type { ImapToken } from './command-reader.js';
import { compileListPattern, listParents } from './list-pattern.js';
import { decodeMailboxName, encodeMailboxName } from './mailbox-name-utf7.js';
import {
  canonicalName,
  MAILBOX_DELIMITER,
  mailboxNameProblem,
  newMailboxNameProblem,
} from './mailbox-names.js';
import { imapString } from './response.js';
import { SelectedMailbox } from './selected-mailbox.js';
import { bad, type ImapReply, no, ok, type SessionContext } from './session.js';
import type { MailboxInfo, MailboxOperationResult, MailboxStatus } from './session-types.js';
import { astringText } from './wire-values.js';

const DELIMITER = MAILBOX_DELIMITER;
const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

export class MailboxCommands {
  constructor(private readonly session: SessionContext) {}

  async run(name: string, args: readonly ImapToken[]): Promise<ImapReply> {
    switch (name) {
      case 'SELECT':
      case 'EXAMINE':
        return this.select(args, name === 'EXAMINE');
      case 'CREATE':
        return this.create(args);
      case 'DELETE':
        return this.simple(args, 1, async ([mailbox]) =>
          mailbox === 'INBOX' ? 'inbox' : this.session.account.deleteMailbox(mailbox!),
        );
      case 'RENAME':
        return this.rename(args);
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE':
        return this.simple(args, 1, ([mailbox]) =>
          this.session.account.setSubscribed(mailbox!, name === 'SUBSCRIBE'),
        );
      case 'LIST':
        return this.list(args, false);
      case 'LSUB':
        return this.list(args, true);
      case 'STATUS':
        return this.status(args);
    }
    return bad('unknown command');
  }

  /**
   * A mailbox argument naming a mailbox that should exist, as the stored name. Throws a
   * tagged answer when it is not one: BAD for a value that is not an astring, NO [CANNOT]
   * when it does not decode, NO [NONEXISTENT] for a name no mailbox can have.
   */
  mailboxName(token: ImapToken | undefined): string {
    const name = this.decodeName(astringText(token, 'mailbox name'));
    if (mailboxNameProblem(name) !== undefined) throw no('[NONEXISTENT] no such mailbox');
    return name;
  }

  /** A mailbox argument naming a mailbox to be made (CREATE, RENAME's target); NO [CANNOT] when it may not be. */
  private newMailboxName(wire: string): string {
    const name = this.decodeName(wire);
    const problem = newMailboxNameProblem(name);
    if (problem !== undefined) throw no(`[CANNOT] invalid mailbox name: ${problem}`);
    return name;
  }

  /** The name on the wire in Unicode: modified UTF-7 (RFC 3501 §5.1.3) until UTF-8 is enabled. */
  private decodeName(wire: string): string {
    const decoded = this.session.utf8 ? wire : decodeMailboxName(wire);
    if (decoded === undefined) throw no('[CANNOT] the mailbox name is not valid modified UTF-7');
    return canonicalName(decoded);
  }

  wireName(name: string): string {
    return imapString(this.session.utf8 ? name : encodeMailboxName(name), this.session.utf8);
  }

  private async select(args: readonly ImapToken[], readOnly: boolean): Promise<ImapReply> {
    if (args.length < 1 || args.length > 2) return bad('SELECT needs a mailbox name');
    // A command that is not even valid (BAD) changes nothing.
    astringText(args[0], 'mailbox name');
    const hadSelected = this.session.selected !== undefined;
    // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
    this.session.select(undefined);
    if (hadSelected && this.session.rev2)
      await this.session.write('* OK [CLOSED] previous mailbox closed\r\n');
    const name = this.mailboxName(args[0]);
    const box = await this.session.account.open(name, readOnly);
    if (!box) return no('[NONEXISTENT] no such mailbox');
    const selected = new SelectedMailbox(box, await box.snapshot());
    this.session.select(selected);
    const lines = [
      `* FLAGS (${SYSTEM_FLAGS})\r\n`,
      `* OK [PERMANENTFLAGS (${readOnly ? '' : `${SYSTEM_FLAGS} \\*`})] flags permitted\r\n`,
      `* ${selected.exists} EXISTS\r\n`,
    ];
    if (!this.session.rev2) {
      lines.push(`* ${selected.recentCount} RECENT\r\n`);
      const unseen = selected.firstUnseenSeq();
      if (unseen !== undefined) lines.push(`* OK [UNSEEN ${unseen}] first unseen message\r\n`);
    }
    lines.push(
      `* OK [UIDVALIDITY ${selected.uidValidity}] UIDs valid\r\n`,
      `* OK [UIDNEXT ${selected.uidNext}] predicted next UID\r\n`,
    );
    if (this.session.rev2) lines.push(`* LIST () "${DELIMITER}" ${this.wireName(name)}\r\n`);
    await this.session.write(lines.join(''));
    return ok(`[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${readOnly ? 'EXAMINE' : 'SELECT'} completed`);
  }

  private async create(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length < 1 || args.length > 2) return bad('CREATE needs a mailbox name');
    // RFC 3501 §6.3.3: a trailing delimiter says the client means to create children.
    let wire = astringText(args[0], 'mailbox name');
    if (wire.endsWith(DELIMITER)) wire = wire.slice(0, -1);
    if (this.decodeName(wire) === 'INBOX') return no('[ALREADYEXISTS] INBOX exists always');
    const name = this.newMailboxName(wire);
    const mailboxes = await this.session.account.listMailboxes();
    const existing = new Set(mailboxes.map((m) => m.name));
    // A \Noselect name left by DELETE is made a mailbox again by CREATE.
    if (mailboxes.some((m) => m.name === name && !m.noselect))
      return no('[ALREADYEXISTS] the mailbox exists already');
    // Superiors are created too (RFC 3501 §6.3.3), as real mailboxes, as Dovecot does; a
    // \Noselect superior stays as it is.
    for (const parent of listParents(name, DELIMITER)) {
      if (!existing.has(parent)) await this.session.account.createMailbox(parent);
    }
    return answer(await this.session.account.createMailbox(name), 'CREATE');
  }

  private async rename(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length !== 2) return bad('RENAME needs two mailbox names');
    const from = this.mailboxName(args[0]);
    const toWire = astringText(args[1], 'mailbox name');
    if (this.decodeName(toWire) === 'INBOX') return no('[ALREADYEXISTS] INBOX exists always');
    const to = this.newMailboxName(toWire);
    // Renaming INBOX moves its messages, not the name (RFC 3501 §6.3.5): INBOX/old is fine.
    if (from !== 'INBOX' && (to === from || to.startsWith(`${from}${DELIMITER}`))) {
      return no('[CANNOT] a mailbox cannot move into itself');
    }
    const existing = new Set((await this.session.account.listMailboxes()).map((m) => m.name));
    if (!existing.has(from)) return no('[NONEXISTENT] no such mailbox');
    if (existing.has(to)) return no('[ALREADYEXISTS] the new name is taken');
    // The mailboxes below move too, and each new name must be one CREATE would take: a
    // rename of m/k to a long name, then of m to another, would otherwise add up to names
    // longer than the store can index.
    if (from !== 'INBOX') {
      for (const name of existing) {
        if (!name.startsWith(`${from}${DELIMITER}`)) continue;
        const problem = newMailboxNameProblem(to + name.slice(from.length));
        if (problem !== undefined)
          return no(`[CANNOT] a mailbox below would get an invalid name: ${problem}`);
      }
    }
    for (const parent of listParents(to, DELIMITER)) {
      if (!existing.has(parent) && parent !== from) await this.session.account.createMailbox(parent);
    }
    return answer(await this.session.account.renameMailbox(from, to), 'RENAME');
  }

  private async simple(
    args: readonly ImapToken[],
    count: number,
    run: (names: string[]) => Promise<MailboxOperationResult>,
  ): Promise<ImapReply> {
    if (args.length !== count) return bad('wrong number of arguments');
    const names = args.map((arg) => this.mailboxName(arg));
    return answer(await run(names), 'command');
  }

  // ---- LIST / LSUB ----

  private async list(args: readonly ImapToken[], lsub: boolean): Promise<ImapReply> {
    let at = 0;
    const selection = new Set<string>();
    const returns = new Set<string>();
    let statusItems: string[] | undefined;
    if (!lsub && args[0]?.type === 'list') {
      for (const option of args[0].items) {
        if (option.type !== 'atom') return bad('invalid selection option');
        selection.add(option.value.toUpperCase());
      }
      at = 1;
    }
    const patternToken = args[at + 1];
    if (args[at] === undefined || patternToken === undefined)
      return bad('LIST needs a reference and a pattern');
    const reference = astringText(args[at], 'reference');
    const patterns: string[] = [];
    if (!lsub && patternToken.type === 'list') {
      for (const item of patternToken.items) patterns.push(astringText(item, 'pattern'));
    } else {
      patterns.push(astringText(patternToken, 'pattern'));
    }
    const rest = args.slice(at + 2);
    if (rest.length > 0) {
      if (
        lsub ||
        rest.length !== 2 ||
        rest[0]?.type !== 'atom' ||
        rest[0].value.toUpperCase() !== 'RETURN' ||
        rest[1]?.type !== 'list'
      ) {
        return bad('invalid LIST arguments');
      }
      const items = rest[1].items;
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (item.type !== 'atom') return bad('invalid return option');
        const option = item.value.toUpperCase();
        returns.add(option);
        if (option === 'STATUS') {
          const next = items[++i];
          if (next?.type !== 'list') return bad('STATUS needs items');
          statusItems = next.items.map((s) => (s.type === 'atom' ? s.value.toUpperCase() : ''));
        }
      }
    }
    for (const option of selection) {
      if (!['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(option)) {
        return bad(`unsupported selection option ${option}`);
      }
    }
    if (selection.has('RECURSIVEMATCH') && selection.size === 1)
      return bad('RECURSIVEMATCH needs another option');

    const command = lsub ? 'LSUB' : 'LIST';
    // LIST "" "": the hierarchy delimiter and root (RFC 3501 §6.3.8).
    if (patterns.length === 1 && patterns[0] === '') {
      await this.session.write(`* ${command} (\\Noselect) "${DELIMITER}" ""\r\n`);
      return ok(`${command} completed`);
    }
    const mailboxes = await this.session.account.listMailboxes();
    const byName = new Map(mailboxes.map((m) => [m.name, m]));
    const names = new Set(mailboxes.map((m) => m.name));
    // Parents that exist only as a path to a child are listed as \Noselect.
    for (const m of mailboxes) for (const parent of listParents(m.name, DELIMITER)) names.add(parent);
    const decodedReference = this.session.utf8 ? reference : (decodeMailboxName(reference) ?? reference);
    const matchers = patterns.map((pattern) =>
      compileListPattern(
        decodedReference,
        this.session.utf8 ? pattern : (decodeMailboxName(pattern) ?? pattern),
        DELIMITER,
      ),
    );
    const extended = !lsub && (selection.size > 0 || returns.size > 0);
    const sorted = [...names].sort((a, b) =>
      a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0,
    );
    const lines: string[] = [];
    for (const name of sorted) {
      if (!matchers.some((match) => match(name))) continue;
      const info = byName.get(name);
      const subscribed = info?.subscribed ?? false;
      if (lsub && !subscribed) {
        // RFC 3501 §6.3.9: an unsubscribed parent of a subscribed mailbox the pattern does
        // not reach (with %) is listed as \Noselect, so the client can walk down to it.
        if (!subscribedBelow(name, byName, (n) => matchers.some((match) => match(n)))) continue;
        lines.push(`* LSUB (\\Noselect) "${DELIMITER}" ${this.wireName(name)}\r\n`);
        continue;
      }
      if (selection.has('SUBSCRIBED') && !subscribed) continue;
      if (selection.has('SPECIAL-USE') && !info?.specialUse) continue;
      const attributes: string[] = [];
      if (!info) attributes.push(extended && selection.has('SUBSCRIBED') ? '\\NonExistent' : '\\Noselect');
      else if (info.noselect) attributes.push('\\Noselect');
      const children = hasChildren(name, names);
      if (!lsub) attributes.push(children ? '\\HasChildren' : '\\HasNoChildren');
      if (
        !lsub &&
        info?.specialUse &&
        (!extended || returns.has('SPECIAL-USE') || selection.has('SPECIAL-USE') || returns.size === 0)
      ) {
        attributes.push(info.specialUse);
      }
      if (subscribed && (selection.has('SUBSCRIBED') || returns.has('SUBSCRIBED')))
        attributes.push('\\Subscribed');
      lines.push(`* ${command} (${attributes.join(' ')}) "${DELIMITER}" ${this.wireName(name)}\r\n`);
      if (statusItems && info && !info.noselect) {
        const status = await this.session.account.status(name);
        if (status) lines.push(`* STATUS ${this.wireName(name)} (${formatStatus(status, statusItems)})\r\n`);
      }
    }
    await this.session.write(lines.join(''));
    return ok(`${command} completed`);
  }

  // ---- STATUS ----

  private async status(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length !== 2 || args[1]?.type !== 'list' || args[1].items.length === 0) {
      return bad('STATUS needs a mailbox and a list of items');
    }
    const items: string[] = [];
    for (const item of args[1].items) {
      if (item.type !== 'atom' || !STATUS_ITEMS.has(item.value.toUpperCase()))
        return bad('unknown status item');
      items.push(item.value.toUpperCase());
    }
    const name = this.mailboxName(args[0]);
    const status = await this.session.account.status(name);
    if (!status) return no('[NONEXISTENT] no such mailbox');
    await this.session.write(`* STATUS ${this.wireName(name)} (${formatStatus(status, items)})\r\n`);
    return ok('STATUS completed');
  }
}

const STATUS_ITEMS = new Set([
  'MESSAGES',
  'RECENT',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'SIZE',
  'HIGHESTMODSEQ',
]);

function formatStatus(status: MailboxStatus, items: readonly string[]): string {
  const values: Record<string, string> = {
    MESSAGES: String(status.messages),
    RECENT: String(status.recent),
    UIDNEXT: String(status.uidNext),
    UIDVALIDITY: String(status.uidValidity),
    UNSEEN: String(status.unseen),
    SIZE: String(status.size),
    HIGHESTMODSEQ: String(status.highestModseq),
  };
  return items
    .filter((item) => values[item] !== undefined)
    .map((item) => `${item} ${values[item]}`)
    .join(' ');
}

function subscribedBelow(
  name: string,
  byName: ReadonlyMap<string, MailboxInfo>,
  matched: (name: string) => boolean,
): boolean {
  const prefix = `${name}${DELIMITER}`;
  for (const [other, info] of byName) {
    if (info.subscribed && other.startsWith(prefix) && !matched(other)) return true;
  }
  return false;
}

function hasChildren(name: string, names: ReadonlySet<string>): boolean {
  const prefix = `${name}${DELIMITER}`;
  for (const other of names) if (other.startsWith(prefix)) return true;
  return false;
}

function answer(result: MailboxOperationResult, command: string): ImapReply {
  switch (result) {
    case 'ok':
      return ok(`${command} completed`);
    case 'nonexistent':
      return no('[NONEXISTENT] no such mailbox');
    case 'exists':
      return no('[ALREADYEXISTS] the mailbox exists already');
    case 'invalid':
      return no('[CANNOT] invalid mailbox name');
    case 'has-children':
      return no('[INUSE] the name has inferior hierarchical names and no mailbox of its own to delete');
    case 'inbox':
      return no('[CANNOT] INBOX cannot be deleted');
  }
}

export type { MailboxInfo };
