// The store's answer to a change of mailboxes, as the tagged answer (RFC 5530 response codes).

import type { MailboxOperationResult } from '../session-types.js';
import { type ImapReply, no, ok } from './command-spec.js';

export function mailboxOperationReply(result: MailboxOperationResult, command: string): ImapReply {
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
