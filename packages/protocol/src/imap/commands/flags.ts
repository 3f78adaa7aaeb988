// Flags as commands take them and FETCH shows them (RFC 3501 §2.3.2, §9 flag).

import type { SelectedMailbox } from '../selected-mailbox.js';
import { SYSTEM_FLAGS, systemFlag } from '../system-flags.js';
import { isAtom } from '../wire-values.js';

/** The system flags as SELECT lists them. */
export const SYSTEM_FLAG_LIST = SYSTEM_FLAGS.join(' ');

/**
 * flag = "\" atom (system flags only) / keyword atom (RFC 3501 §9). NIL is an atom to the
 * grammar but not a keyword: in a FETCH's FLAGS list every client would read it as nil.
 */
export function validFlag(flag: string): boolean {
  if (flag.startsWith('\\')) return systemFlag(flag) !== undefined || flag.toLowerCase() === '\\recent';
  return isAtom(flag) && flag.toUpperCase() !== 'NIL';
}

/** A message's flags as the client sees them: \Recent added for IMAP4rev1 (RFC 9051 drops it). */
export function flagList(
  selected: SelectedMailbox | undefined,
  rev2: boolean,
  message: { readonly uid: number; readonly flags: readonly string[] },
): string {
  const recent = selected?.isRecent(message.uid) && !rev2;
  return (recent ? [...message.flags, '\\Recent'] : message.flags).join(' ');
}
