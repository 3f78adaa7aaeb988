// NAMESPACE (RFC 2342): the personal namespace, and "Other Users/" when the store keeps ACLs
// (shared-mailboxes.ts: "Other Users/<owner address>/<mailbox>" is what others share with
// the user, RFC 4314). No shared namespace: every mailbox belongs to one account.

import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import { imapString } from '../response.js';
import { accountAcl, OTHER_USERS } from '../shared-mailboxes.js';
import { defineCommand, LOGGED_IN, noArguments, ok } from './command-spec.js';

export const namespace = defineCommand({
  name: 'NAMESPACE',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['NAMESPACE'] }),
  parse: noArguments,
  async handle(_request, context) {
    const delimiter = imapString(MAILBOX_DELIMITER);
    const others = accountAcl(context.account)
      ? `((${imapString(OTHER_USERS + MAILBOX_DELIMITER)} ${delimiter}))`
      : 'NIL';
    await context.write(`* NAMESPACE (("" ${delimiter})) ${others} NIL\r\n`);
    return ok('NAMESPACE completed');
  },
});
