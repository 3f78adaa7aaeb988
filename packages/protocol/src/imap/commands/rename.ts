// RENAME (RFC 3501 §6.3.5): the mailboxes below move too; renaming INBOX moves its
// messages, not the name.

import { listParents } from '../list-pattern.js';
import { MAILBOX_DELIMITER, newMailboxNameProblem } from '../mailbox-names.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no } from './command-spec.js';
import { astringArgument, decodeName, mailboxName, newMailboxName } from './mailbox-arguments.js';
import { mailboxOperationReply } from './mailbox-results.js';

const DELIMITER = MAILBOX_DELIMITER;

export const rename = defineCommand({
  name: 'RENAME',
  states: LOGGED_IN,
  parse: (args) =>
    args.length === 2 ? { from: args[0]!, to: args[1]! } : bad('RENAME needs two mailbox names'),
  async handle(request, context) {
    const from = mailboxName(request.from, context.utf8);
    if (from instanceof ImapReply) return from;
    const toWire = astringArgument(request.to, 'mailbox name');
    if (toWire instanceof ImapReply) return toWire;
    const decoded = decodeName(toWire, context.utf8);
    if (decoded instanceof ImapReply) return decoded;
    if (decoded === 'INBOX') return no('[ALREADYEXISTS] INBOX exists always');
    const to = newMailboxName(toWire, context.utf8);
    if (to instanceof ImapReply) return to;
    // Renaming INBOX moves its messages, not the name (RFC 3501 §6.3.5): INBOX/old is fine.
    if (from !== 'INBOX' && (to === from || to.startsWith(`${from}${DELIMITER}`))) {
      return no('[CANNOT] a mailbox cannot move into itself');
    }
    const existing = new Set(
      (await context.account.listMailboxes()).filter((m) => !m.nonexistent).map((m) => m.name),
    );
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
      if (!existing.has(parent) && parent !== from) await context.account.createMailbox(parent);
    }
    return mailboxOperationReply(await context.account.renameMailbox(from, to), 'RENAME');
  },
});
