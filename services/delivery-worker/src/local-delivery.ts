import { type MessageDescription, withHeaderPrefix } from '@tegami/protocol';
import { type DueDelivery, junkMailbox, type LocalMailbox, type QueueEntry } from '@tegami/store';
import type { MailboxBatcher } from './mailbox-batcher.js';

// Delivery into a local INBOX: the user reads the message with Return-Path (the envelope
// sender, RFC 5321 §4.4) and Delivered-To (the recipient, as Postfix and Dovecot write
// it, which also lets loops be spotted) in front. Those lines are the copy's own header
// prefix; the message itself stays the one blob smtp-ingress stored, shared by every
// recipient, and is parsed once per job (docs/architecture/one-blob-per-message.md).

export type DescribeMessage = (raw: Buffer) => MessageDescription;

/** The queued message as every local copy shares it: its blob, described at most once. */
export interface SharedBlob {
  readonly sha256: Buffer;
  readonly bytes: Buffer;
  /** describeMessage of the blob, parsed on first use (a job with no local recipient never parses). */
  description(): MessageDescription;
}

export function sharedBlob(
  entry: Pick<QueueEntry, 'blobSha256'>,
  bytes: Buffer,
  describe: DescribeMessage,
): SharedBlob {
  let described: MessageDescription | undefined;
  return {
    sha256: entry.blobSha256,
    bytes,
    description: () => {
      described ??= describe(bytes);
      return described;
    },
  };
}

/** The recipient's own header lines, served before the shared blob. */
export function deliveryHeaderPrefix(entry: Pick<QueueEntry, 'sender'>, recipient: string): Buffer {
  return Buffer.from(`Return-Path: <${entry.sender}>\r\nDelivered-To: ${recipient}\r\n`, 'utf8');
}

export type LocalOutcome =
  | {
      readonly kind: 'delivered';
      readonly accountId: string;
      readonly mailboxId: string;
      readonly uid: number;
      readonly modseq: bigint;
      /** The message has no recipient left to try: its queue row is done (see LocalDeliveryResult). */
      readonly queueDone: boolean;
    }
  | { readonly kind: 'not-held' }
  | { readonly kind: 'no-such-user' }
  | { readonly kind: 'over-quota'; readonly reply: string };

export interface LocalDeliveryDeps {
  readonly batcher: MailboxBatcher;
  readonly hostname: string;
  readonly worker: string;
}

export async function deliverLocally(
  deps: LocalDeliveryDeps,
  entry: QueueEntry,
  delivery: DueDelivery,
  account: LocalMailbox,
  blob: SharedBlob,
): Promise<LocalOutcome> {
  // DMARC quarantine and spam go to the user's Junk, where clients look for them.
  const mailbox = entry.junk ? junkMailbox(account) : account;
  const headerPrefix = deliveryHeaderPrefix(entry, delivery.recipient);
  const described = withHeaderPrefix(blob.bytes, blob.description(), headerPrefix);
  const result = await deps.batcher.deliver(mailbox, {
    deliveryId: delivery.id,
    worker: deps.worker,
    blob: { sha256: blob.sha256, size: blob.bytes.length },
    headerPrefix,
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
  // The batcher told the mailbox's IMAP sessions, once for the batch.
  return {
    kind: 'delivered',
    accountId: mailbox.accountId,
    mailboxId: mailbox.inboxId,
    uid: result.uid,
    modseq: result.modseq,
    queueDone: result.queueDone,
  };
}
