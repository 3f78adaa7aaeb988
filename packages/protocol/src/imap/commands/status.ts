// STATUS (RFC 3501 §6.3.10): counts of a mailbox without selecting it.

import type { ImapToken } from '../command-tokens.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { enableCondstore } from './condstore.js';
import { mailboxName, wireName } from './mailbox-arguments.js';
import { formatStatus, STATUS_ITEMS } from './status-items.js';

export const status = defineCommand({
  name: 'STATUS',
  states: LOGGED_IN,
  // RFC 8438; IMAP4rev2 has SIZE too. OBJECTID (RFC 8474): STATUS MAILBOXID, SELECT and
  // CREATE's MAILBOXID, FETCH and SEARCH EMAILID and THREADID.
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['STATUS=SIZE', 'OBJECTID'] }),
  parse(args): { mailbox: ImapToken; items: string[] } | ImapReply {
    if (args.length !== 2 || args[1]?.type !== 'list' || args[1].items.length === 0) {
      return bad('STATUS needs a mailbox and a list of items');
    }
    const items: string[] = [];
    for (const item of args[1].items) {
      if (item.type !== 'atom' || !STATUS_ITEMS.has(item.value.toUpperCase()))
        return bad('unknown status item');
      items.push(item.value.toUpperCase());
    }
    return { mailbox: args[0]!, items };
  },
  async handle({ mailbox, items }, context) {
    const name = mailboxName(mailbox, context.utf8);
    if (name instanceof ImapReply) return name;
    const found = await context.account.status(name);
    if (!found) return no('[NONEXISTENT] no such mailbox');
    await context.write(`* STATUS ${wireName(name, context.utf8)} (${formatStatus(found, items)})\r\n`);
    // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE-enabling command.
    if (items.includes('HIGHESTMODSEQ')) await enableCondstore(context);
    return ok('STATUS completed');
  },
});
