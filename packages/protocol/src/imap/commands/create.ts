// CREATE (RFC 3501 §6.3.3): superiors are created too, as real mailboxes (as Dovecot does).
// CREATE-SPECIAL-USE (RFC 6154 §3): `CREATE name (USE (\Archive))` gives the new mailbox its
// special use. One per mailbox, and not \All or \Flagged (virtual mailboxes, which this
// store does not keep): otherwise NO [USEATTR] and nothing is created.

import { listParents } from '../list-pattern.js';
import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import type { SpecialUseAttribute } from '../session-types.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { astringArgument, decodeName, newMailboxName } from './mailbox-arguments.js';
import { mailboxOperationReply } from './mailbox-results.js';

/** The special uses a CREATE may give: the real mailboxes of RFC 6154 §2. */
const CREATABLE_USES: readonly SpecialUseAttribute[] = [
  '\\Archive',
  '\\Drafts',
  '\\Junk',
  '\\Sent',
  '\\Trash',
];

export const create = defineCommand({
  name: 'CREATE',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['CREATE-SPECIAL-USE'] }),
  parse(args) {
    if (args.length < 1 || args.length > 2) return bad('CREATE needs a mailbox name');
    const wire = astringArgument(args[0], 'mailbox name');
    if (wire instanceof ImapReply) return wire;
    // RFC 3501 §6.3.3: a trailing delimiter says the client means to create children.
    const name = wire.endsWith(MAILBOX_DELIMITER) ? wire.slice(0, -1) : wire;
    if (args.length === 1) return { wire: name, uses: [] };
    // create-params (RFC 4466 §2.2): here only USE (RFC 6154 §6).
    const params = args[1]!;
    const [key, list] = params.type === 'list' ? params.items : [];
    if (
      params.type !== 'list' ||
      params.items.length !== 2 ||
      key?.type !== 'atom' ||
      key.value.toUpperCase() !== 'USE' ||
      list?.type !== 'list' ||
      list.items.some((item) => item.type !== 'atom' || !item.value.startsWith('\\'))
    ) {
      return bad('CREATE takes only (USE (attributes))');
    }
    return { wire: name, uses: list.items.map((item) => (item.type === 'atom' ? item.value : '')) };
  },
  async handle({ wire, uses }, context) {
    let specialUse: SpecialUseAttribute | undefined;
    if (uses.length > 0) {
      const use = CREATABLE_USES.find((u) => u.toLowerCase() === uses[0]!.toLowerCase());
      if (uses.length > 1 || !use) {
        return no(`[USEATTR] a mailbox here can have one of ${CREATABLE_USES.join(' ')} as its special use`);
      }
      specialUse = use;
    }
    const decoded = decodeName(wire, context.utf8);
    if (decoded instanceof ImapReply) return decoded;
    if (decoded === 'INBOX') return no('[ALREADYEXISTS] INBOX exists always');
    const name = newMailboxName(wire, context.utf8);
    if (name instanceof ImapReply) return name;
    // Names that are only subscribed have no mailbox: CREATE makes one.
    const mailboxes = (await context.account.listMailboxes()).filter((m) => !m.nonexistent);
    const existing = new Set(mailboxes.map((m) => m.name));
    // A \Noselect name left by DELETE is made a mailbox again by CREATE.
    if (mailboxes.some((m) => m.name === name && !m.noselect))
      return no('[ALREADYEXISTS] the mailbox exists already');
    // A \Noselect superior stays as it is.
    for (const parent of listParents(name, MAILBOX_DELIMITER)) {
      if (!existing.has(parent)) await context.account.createMailbox(parent);
    }
    const created = await context.account.createMailbox(name, specialUse);
    if (created !== 'ok') return mailboxOperationReply(created, 'CREATE');
    // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK. Read back by name: a
    // RENAME by another session in between would show the id of what has the name now.
    const mailboxId = (await context.account.status(name))?.mailboxId;
    return ok(`${mailboxId ? `[MAILBOXID (${mailboxId})] ` : ''}CREATE completed`);
  },
});
