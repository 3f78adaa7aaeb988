import type { MailBus } from '@tegami/bus';
import type { MessageMetadata } from '@tegami/protocol';
import { type DueDelivery, junkMailbox, type LocalMailbox, type QueueEntry } from '@tegami/store';
import type { MailboxBatcher } from './mailbox-batcher.js';

// Delivery into a local INBOX: the message as stored gets Return-Path (the envelope
// sender, RFC 5321 §4.4) and Delivered-To (the recipient, as Postfix and Dovecot write
// it, which also lets loops be spotted) in front, and is parsed once for IMAP.

export interface MessageDescription {
  /** What IMAP serves without parsing again (ENVELOPE, BODYSTRUCTURE, part offsets). */
  readonly metadata: MessageMetadata;
  readonly searchText: string;
}

export type DescribeMessage = (raw: Buffer) => MessageDescription;

export type LocalOutcome =
  | {
      readonly kind: 'delivered';
      readonly accountId: string;
      readonly mailboxId: string;
      readonly uid: number;
      readonly modseq: bigint;
    }
  | { readonly kind: 'not-held' }
  | { readonly kind: 'no-such-user' }
  | { readonly kind: 'over-quota'; readonly reply: string };

export interface LocalDeliveryDeps {
  readonly batcher: MailboxBatcher;
  readonly bus: MailBus;
  readonly hostname: string;
  readonly worker: string;
  readonly describe: DescribeMessage;
}

export function localCopy(entry: Pick<QueueEntry, 'sender'>, recipient: string, message: Buffer): Buffer {
  const prefix = `Return-Path: <${entry.sender}>\r\nDelivered-To: ${recipient}\r\n`;
  return Buffer.concat([Buffer.from(prefix, 'utf8'), message]);
}

export async function deliverLocally(
  deps: LocalDeliveryDeps,
  entry: QueueEntry,
  delivery: DueDelivery,
  account: LocalMailbox,
  message: Buffer,
): Promise<LocalOutcome> {
  // DMARC quarantine and spam go to the user's Junk, where clients look for them.
  const mailbox = entry.junk ? junkMailbox(account) : account;
  const raw = localCopy(entry, delivery.recipient, message);
  const described = deps.describe(raw);
  const result = await deps.batcher.deliver(mailbox, {
    deliveryId: delivery.id,
    worker: deps.worker,
    raw,
    metadata: described.metadata,
    searchText: described.searchText,
    internalDate: new Date(),
    reply: `250 2.0.0 delivered to ${mailbox.address} ${mailbox.name ?? 'INBOX'} by ${deps.hostname}`,
  });
  if (result.kind === 'not-held') return result;
  if (result.kind === 'no-mailbox') return { kind: 'no-such-user' };
  if (result.kind === 'over-quota') {
    return {
      kind: 'over-quota',
      reply: `452 4.2.2 ${delivery.recipient}: mailbox full (quota ${mailbox.quotaBytes} bytes, ${result.usedBytes} used)`,
    };
  }
  // At most once, to whoever listens now: IMAP sessions re-read Postgres on the event.
  await deps.bus
    .publishMailboxChanged({
      accountId: mailbox.accountId,
      mailboxId: mailbox.inboxId,
      kind: 'exists',
      uids: [result.uid],
      modseq: result.modseq.toString(),
    })
    .catch(() => undefined);
  return {
    kind: 'delivered',
    accountId: mailbox.accountId,
    mailboxId: mailbox.inboxId,
    uid: result.uid,
    modseq: result.modseq,
  };
}
