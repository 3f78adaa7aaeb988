// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.6-7): the subscription list LSUB and
// LIST (SUBSCRIBED) read.

import { bad, defineCommand, ImapReply, LOGGED_IN } from './command-spec.js';
import { mailboxName } from './mailbox-arguments.js';
import { mailboxOperationReply } from './mailbox-results.js';

function subscription(name: 'SUBSCRIBE' | 'UNSUBSCRIBE', subscribed: boolean) {
  return defineCommand({
    name,
    states: LOGGED_IN,
    parse: (args) => (args.length === 1 ? args[0]! : bad('wrong number of arguments')),
    async handle(token, context) {
      const mailbox = mailboxName(token, context.utf8);
      if (mailbox instanceof ImapReply) return mailbox;
      return mailboxOperationReply(await context.account.setSubscribed(mailbox, subscribed), 'command');
    },
  });
}

export const subscribe = subscription('SUBSCRIBE', true);
export const unsubscribe = subscription('UNSUBSCRIBE', false);
