// LIST (RFC 3501 §6.3.8, RFC 5258 LIST-EXTENDED selection and return options, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN) and LSUB (RFC 3501 §6.3.9).

import { compileListPattern, listParents } from '../list-pattern.js';
import { decodeMailboxName } from '../mailbox-name-utf7.js';
import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import type { MailboxInfo } from '../session-types.js';
import {
  bad,
  type CommandForm,
  defineCommand,
  type ImapContext,
  ImapReply,
  LOGGED_IN,
  ok,
} from './command-spec.js';
import { astringArgument, wireName } from './mailbox-arguments.js';
import { formatStatus, STATUS_ITEMS } from './status-items.js';

const DELIMITER = MAILBOX_DELIMITER;
const SELECTION_OPTIONS = ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'];
const RETURN_OPTIONS = ['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS'];

interface ListRequest {
  readonly selection: ReadonlySet<string>;
  readonly returns: ReadonlySet<string>;
  readonly statusItems: readonly string[] | undefined;
  readonly reference: string;
  readonly patterns: readonly string[];
}

function listCommand(command: 'LIST' | 'LSUB') {
  const lsub = command === 'LSUB';
  return defineCommand<ListRequest>({
    name: command,
    states: LOGGED_IN,
    ...(!lsub && {
      capabilities: (view) => ({
        now:
          view.state === 'not-authenticated'
            ? []
            : ['CHILDREN', 'SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS'],
      }),
    }),
    parse(args) {
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
      const reference = astringArgument(args[at], 'reference');
      if (reference instanceof ImapReply) return reference;
      const patterns: string[] = [];
      for (const item of !lsub && patternToken.type === 'list' ? patternToken.items : [patternToken]) {
        const pattern = astringArgument(item, 'pattern');
        if (pattern instanceof ImapReply) return pattern;
        patterns.push(pattern);
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
            if (next?.type !== 'list' || next.items.length === 0) return bad('STATUS needs items');
            statusItems = [];
            for (const s of next.items) {
              if (s.type !== 'atom' || !STATUS_ITEMS.has(s.value.toUpperCase()))
                return bad('unknown status item');
              statusItems.push(s.value.toUpperCase());
            }
          } else if (!RETURN_OPTIONS.includes(option)) {
            return bad(`unsupported return option ${option}`);
          }
        }
      }
      for (const option of selection) {
        if (!SELECTION_OPTIONS.includes(option)) return bad(`unsupported selection option ${option}`);
      }
      // RFC 5258 §3: never alone, nor with REMOTE only.
      if (
        selection.has('RECURSIVEMATCH') &&
        [...selection].every((option) => option === 'RECURSIVEMATCH' || option === 'REMOTE')
      )
        return bad('RECURSIVEMATCH needs another option');
      return { selection, returns, statusItems, reference, patterns };
    },
    handle: (request, context, form) => list(request, context, form, lsub),
  });
}

export const listMailboxes = listCommand('LIST');
export const lsub = listCommand('LSUB');

async function list(request: ListRequest, context: ImapContext, _form: CommandForm, lsub: boolean) {
  const { selection, returns, statusItems, reference, patterns } = request;
  const command = lsub ? 'LSUB' : 'LIST';
  // LIST "" "": the hierarchy delimiter and root (RFC 3501 §6.3.8).
  if (patterns.length === 1 && patterns[0] === '') {
    await context.write(`* ${command} (\\Noselect) "${DELIMITER}" ""\r\n`);
    return ok(`${command} completed`);
  }
  const utf8 = context.utf8;
  const infos = await context.account.listMailboxes();
  const byName = new Map(infos.map((m) => [m.name, m]));
  // The names LIST shows: the mailboxes and, as \Noselect, the parents that exist only as a
  // path to a child. A name that is only subscribed is shown by LSUB and LIST (SUBSCRIBED).
  const mailboxes = infos.filter((m) => !m.nonexistent);
  const names = new Set(mailboxes.map((m) => m.name));
  for (const m of mailboxes) for (const parent of listParents(m.name, DELIMITER)) names.add(parent);
  const shown = new Set(names);
  if (lsub || selection.has('SUBSCRIBED')) for (const m of infos) if (m.nonexistent) shown.add(m.name);
  const decodedReference = utf8 ? reference : (decodeMailboxName(reference) ?? reference);
  const matchers = patterns.map((pattern) =>
    compileListPattern(decodedReference, utf8 ? pattern : (decodeMailboxName(pattern) ?? pattern), DELIMITER),
  );
  const extended = !lsub && (selection.size > 0 || returns.size > 0);
  const sorted = [...shown].sort((a, b) =>
    a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  // Whether a name meets the selection options (LIST-EXTENDED); every name does without them.
  const selected = (info: MailboxInfo | undefined): boolean =>
    (!selection.has('SUBSCRIBED') || (info?.subscribed ?? false)) &&
    (!selection.has('SPECIAL-USE') || (!!info?.specialUse && !info.nonexistent));
  const recursive = selection.has('RECURSIVEMATCH');
  // RECURSIVEMATCH: the names with a mailbox below them that meets the selection, found in
  // one pass over the names and their parents (not one scan of every name per name listed).
  const aboveSelected = new Set<string>();
  if (recursive) {
    for (const n of shown) {
      if (!selected(byName.get(n))) continue;
      for (let at = n.lastIndexOf(DELIMITER); at > 0; at = n.lastIndexOf(DELIMITER, at - 1)) {
        const parent = n.slice(0, at);
        if (aboveSelected.has(parent)) break;
        aboveSelected.add(parent);
      }
    }
  }
  const childInfoValues = ['SUBSCRIBED', 'SPECIAL-USE']
    .filter((option) => selection.has(option))
    .map((option) => `"${option}"`)
    .join(' ');
  const lines: string[] = [];
  for (const name of sorted) {
    if (!matchers.some((match) => match(name))) continue;
    const info = byName.get(name);
    const subscribed = info?.subscribed ?? false;
    if (lsub && !subscribed) {
      // RFC 3501 §6.3.9: an unsubscribed parent of a subscribed mailbox the pattern does
      // not reach (with %) is listed as \Noselect, so the client can walk down to it.
      if (!subscribedBelow(name, byName, (n) => matchers.some((match) => match(n)))) continue;
      lines.push(`* LSUB (\\Noselect) "${DELIMITER}" ${wireName(name, utf8)}\r\n`);
      continue;
    }
    const chosen = selected(info);
    // RECURSIVEMATCH (RFC 5258 §3.5): a name the pattern matches is listed, with CHILDINFO,
    // when a mailbox below it meets the selection, whether or not the pattern reaches it.
    const childInfo = aboveSelected.has(name);
    if (!chosen && !childInfo) continue;
    const attributes: string[] = [];
    if (!info || info.nonexistent) {
      // LSUB of a subscribed name with no mailbox: no attributes, as Dovecot answers.
      if (!lsub) attributes.push(extended && selection.has('SUBSCRIBED') ? '\\NonExistent' : '\\Noselect');
    } else if (info.noselect) attributes.push('\\Noselect');
    const children = hasChildren(name, names);
    // A name with no mailbox and nothing below it has no children to tell of (Dovecot says none).
    if (!lsub && (children || !info?.nonexistent))
      attributes.push(children ? '\\HasChildren' : '\\HasNoChildren');
    if (
      !lsub &&
      info?.specialUse &&
      (!extended || returns.has('SPECIAL-USE') || selection.has('SPECIAL-USE') || returns.size === 0)
    ) {
      attributes.push(info.specialUse);
    }
    if (subscribed && (selection.has('SUBSCRIBED') || returns.has('SUBSCRIBED')))
      attributes.push('\\Subscribed');
    const extra = childInfo ? ` ("CHILDINFO" (${childInfoValues}))` : '';
    lines.push(`* ${command} (${attributes.join(' ')}) "${DELIMITER}" ${wireName(name, utf8)}${extra}\r\n`);
    if (statusItems && info && !info.noselect && !info.nonexistent) {
      const status = await context.account.status(name);
      if (status) lines.push(`* STATUS ${wireName(name, utf8)} (${formatStatus(status, statusItems)})\r\n`);
    }
  }
  await context.write(lines.join(''));
  return ok(`${command} completed`);
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
