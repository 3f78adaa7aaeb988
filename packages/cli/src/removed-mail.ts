import type { RemovedMail } from '@tegami/store';
import { formatSize } from './sizes.js';

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * `3 mailboxes, 120 messages (4.5M); 4.2M of stored messages freed`: the messages' sizes as
 * the quota counts them, then the bytes actually deleted (less when another mailbox or a
 * queue entry still holds the same message).
 */
export { count };

export function describeRemovedMail(mail: RemovedMail): string {
  return (
    `${count(mail.mailboxes, 'mailbox', 'mailboxes')}, ` +
    `${count(mail.messages, 'message', 'messages')} (${formatSize(mail.bytes)}); ` +
    `${formatSize(mail.blobs.bytes)} of stored messages freed`
  );
}
