// STATUS data items (RFC 3501 §6.3.10, RFC 9051 §6.3.11 SIZE, RFC 7162 HIGHESTMODSEQ, RFC
// 9208 §4.2 DELETED and DELETED-STORAGE, RFC 8474 §4.2 MAILBOXID), for
// STATUS and LIST-STATUS (RFC 5819).

import type { MailboxStatus } from '../session-types.js';

export const STATUS_ITEMS: ReadonlySet<string> = new Set([
  'MESSAGES',
  'RECENT',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'SIZE',
  'HIGHESTMODSEQ',
  'DELETED',
  'DELETED-STORAGE',
  'MAILBOXID',
]);

export function formatStatus(status: MailboxStatus, items: readonly string[]): string {
  const values: Record<string, string | undefined> = {
    MESSAGES: String(status.messages),
    RECENT: String(status.recent),
    UIDNEXT: String(status.uidNext),
    UIDVALIDITY: String(status.uidValidity),
    UNSEEN: String(status.unseen),
    SIZE: String(status.size),
    HIGHESTMODSEQ: String(status.highestModseq),
    // RFC 9208 §4.2: DELETED-STORAGE in units of 1024 octets, as the STORAGE resource.
    DELETED: String(status.deleted),
    'DELETED-STORAGE': String(Math.floor(status.deletedSize / 1024)),
    MAILBOXID: status.mailboxId === undefined ? undefined : `(${status.mailboxId})`,
  };
  return items
    .filter((item) => values[item] !== undefined)
    .map((item) => `${item} ${values[item]}`)
    .join(' ');
}
