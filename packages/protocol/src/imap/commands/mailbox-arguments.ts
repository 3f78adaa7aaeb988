// Mailbox names as command arguments and in responses: modified UTF-7 on the wire (RFC 3501
// §5.1.3) until the client enables UTF-8 (RFC 9051, RFC 6855), stored in Unicode with '/'
// between levels. Shared by the commands that name mailboxes.

import type { ImapToken } from '../command-tokens.js';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name-utf7.js';
import { canonicalName, mailboxNameProblem, newMailboxNameProblem } from '../mailbox-names.js';
import { imapString } from '../response.js';
import { checkAstring } from '../wire-values.js';
import { bad, ImapReply, no } from './command-spec.js';

/** An astring argument as text, or BAD saying what is wrong with it. */
export function astringArgument(token: ImapToken | undefined, what: string): string | ImapReply {
  const checked = checkAstring(token, what);
  return 'problem' in checked ? bad(checked.problem) : checked.text;
}

/** The name on the wire in Unicode: modified UTF-7 (RFC 3501 §5.1.3) until UTF-8 is enabled. */
export function decodeName(wire: string, utf8: boolean): string | ImapReply {
  const decoded = utf8 ? wire : decodeMailboxName(wire);
  if (decoded === undefined) return no('[CANNOT] the mailbox name is not valid modified UTF-7');
  return canonicalName(decoded);
}

/**
 * A mailbox argument naming a mailbox that should exist, as the stored name; BAD for a
 * value that is not an astring, NO [CANNOT] when it does not decode, NO [NONEXISTENT] for
 * a name no mailbox can have.
 */
export function mailboxName(token: ImapToken | undefined, utf8: boolean): string | ImapReply {
  const wire = astringArgument(token, 'mailbox name');
  if (wire instanceof ImapReply) return wire;
  const name = decodeName(wire, utf8);
  if (name instanceof ImapReply) return name;
  return mailboxNameProblem(name) === undefined ? name : no('[NONEXISTENT] no such mailbox');
}

/** A mailbox name to be made (CREATE, RENAME's target); NO [CANNOT] when it may not be. */
export function newMailboxName(wire: string, utf8: boolean): string | ImapReply {
  const name = decodeName(wire, utf8);
  if (name instanceof ImapReply) return name;
  const problem = newMailboxNameProblem(name);
  return problem === undefined ? name : no(`[CANNOT] invalid mailbox name: ${problem}`);
}

/** A stored name as the client reads it. */
export function wireName(name: string, utf8: boolean): string {
  return imapString(utf8 ? name : encodeMailboxName(name), utf8);
}
