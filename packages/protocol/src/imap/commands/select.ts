// SELECT and EXAMINE (RFC 3501 §6.3.1-2, RFC 9051 §6.3.2-3): open a mailbox read-write
// (claiming \Recent) or read-only, and tell the client what it holds.

import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import { SelectedMailbox } from '../selected-mailbox.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { astringArgument, mailboxName, wireName } from './mailbox-arguments.js';

function selectCommand(name: 'SELECT' | 'EXAMINE', readOnly: boolean) {
  return defineCommand({
    name,
    states: LOGGED_IN,
    parse(args) {
      if (args.length < 1 || args.length > 2) return bad('SELECT needs a mailbox name');
      // A command that is not even valid (BAD) changes nothing.
      const wire = astringArgument(args[0], 'mailbox name');
      return wire instanceof ImapReply ? wire : args[0]!;
    },
    async handle(token, context) {
      const hadSelected = context.selected !== undefined;
      // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
      context.select(undefined);
      if (hadSelected && context.rev2) await context.write('* OK [CLOSED] previous mailbox closed\r\n');
      const mailbox = mailboxName(token, context.utf8);
      if (mailbox instanceof ImapReply) return mailbox;
      const box = await context.account.open(mailbox, readOnly);
      if (!box) return no('[NONEXISTENT] no such mailbox');
      const selected = await SelectedMailbox.open(box);
      context.select(selected);
      const lines = [selected.flagsResponses(), `* ${selected.exists} EXISTS\r\n`];
      if (!context.rev2) {
        lines.push(`* ${selected.recentCount} RECENT\r\n`);
        const unseen = selected.firstUnseenSeq();
        if (unseen !== undefined) lines.push(`* OK [UNSEEN ${unseen}] first unseen message\r\n`);
      }
      lines.push(
        `* OK [UIDVALIDITY ${selected.uidValidity}] UIDs valid\r\n`,
        `* OK [UIDNEXT ${selected.uidNext}] predicted next UID\r\n`,
      );
      if (context.rev2) lines.push(`* LIST () "${MAILBOX_DELIMITER}" ${wireName(mailbox, context.utf8)}\r\n`);
      await context.write(lines.join(''));
      return ok(`[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${name} completed`);
    },
  });
}

export const select = selectCommand('SELECT', false);
export const examine = selectCommand('EXAMINE', true);
