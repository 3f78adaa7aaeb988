// DELETE (RFC 3501 §6.3.4): INBOX cannot be deleted; a name with children is kept as \Noselect.

import { bad, defineCommand, ImapReply, LOGGED_IN } from './command-spec.js';
import { mailboxName } from './mailbox-arguments.js';
import { mailboxOperationReply } from './mailbox-results.js';

export const deleteCommand = defineCommand({
  name: 'DELETE',
  states: LOGGED_IN,
  parse: (args) => (args.length === 1 ? args[0]! : bad('wrong number of arguments')),
  async handle(token, context) {
    const name = mailboxName(token, context.utf8);
    if (name instanceof ImapReply) return name;
    const result = name === 'INBOX' ? 'inbox' : await context.account.deleteMailbox(name);
    return mailboxOperationReply(result, 'command');
  },
});
