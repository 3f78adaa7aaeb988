// CREATE (RFC 3501 §6.3.3): superiors are created too, as real mailboxes (as Dovecot does).

import { listParents } from '../list-pattern.js';
import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no } from './command-spec.js';
import { astringArgument, decodeName, newMailboxName } from './mailbox-arguments.js';
import { mailboxOperationReply } from './mailbox-results.js';

export const create = defineCommand({
  name: 'CREATE',
  states: LOGGED_IN,
  parse(args) {
    if (args.length < 1 || args.length > 2) return bad('CREATE needs a mailbox name');
    const wire = astringArgument(args[0], 'mailbox name');
    if (wire instanceof ImapReply) return wire;
    // RFC 3501 §6.3.3: a trailing delimiter says the client means to create children.
    return { wire: wire.endsWith(MAILBOX_DELIMITER) ? wire.slice(0, -1) : wire };
  },
  async handle({ wire }, context) {
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
    return mailboxOperationReply(await context.account.createMailbox(name), 'CREATE');
  },
});
