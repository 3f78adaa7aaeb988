import { createHash } from 'node:crypto';
import { describeMessage, emailIdOf } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { blobId } from './blobs.js';
import { claimDueDeliveries } from './deliveries.js';
import { addDomain } from './domains.js';
import { fetchImapMessages, searchImapMessages } from './imap-mailbox.js';
import { deliverToMailbox, type LocalMailbox, routeLocalRecipient } from './local-delivery.js';
import { findMailbox } from './mailboxes.js';
import { appendMessage, copyMessages } from './messages.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import { openTestStore } from './test-store.js';

// EMAILID (RFC 8474) and SAVEDATE (RFC 8514) of delivered mail: one blob shared by its
// recipients, each copy with header lines of its own before it (one-blob-per-message).

let store: Awaited<ReturnType<typeof openTestStore>>;
const inboxes: Record<string, LocalMailbox> = {};

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'ids.test');
  for (const user of ['ann', 'bo']) {
    await createAccount(store.pool, `${user}@ids.test`, `${user}-password`);
    const route = await routeLocalRecipient(store.pool, `${user}@ids.test`);
    if (route.kind !== 'account') throw new Error('no account');
    inboxes[user] = route.mailbox;
  }
});
afterAll(() => store.close());

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** The message queued once for ann and bo, delivered to each with a Delivered-To of their own. */
async function deliverToBoth(message: Buffer): Promise<Record<string, { uid: number; prefix: Buffer }>> {
  const queueId = newQueueId();
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw: message,
    sender: 'x@remote.test',
    recipients: [{ address: 'ann@ids.test' }, { address: 'bo@ids.test' }],
  });
  const deliveries = await claimDueDeliveries(store.pool, queueId, 'worker', 60_000);
  const delivered: Record<string, { uid: number; prefix: Buffer }> = {};
  for (const delivery of deliveries) {
    const user = delivery.recipient.split('@')[0]!;
    const prefix = Buffer.from(`Delivered-To: ${delivery.recipient}\r\n`);
    const result = await deliverToMailbox(store.pool, {
      deliveryId: delivery.id,
      worker: 'worker',
      mailbox: inboxes[user]!,
      blob: { sha256: blobId(message), size: message.length },
      headerPrefix: prefix,
      metadata: describeMessage(Buffer.concat([prefix, message])).metadata,
      internalDate: new Date('2021-05-05T05:05:05Z'),
      reply: '250 2.0.0 delivered',
    });
    if (result.kind !== 'delivered') throw new Error(`not delivered: ${result.kind}`);
    delivered[user] = { uid: result.uid, prefix };
  }
  return delivered;
}

const emailIdIn = async (mailboxId: string, uid: number) =>
  (await fetchImapMessages(store.pool, mailboxId, [uid], { metadata: false, raw: false, emailId: true }))[0];

describe('EMAILID and SAVEDATE of delivered mail', () => {
  it('gives each recipient’s copy the EMAILID of its own bytes, prefix and all, which COPY keeps', async () => {
    const message = Buffer.from('Subject: shared\r\n\r\none blob, two recipients\r\n');
    const started = Date.now();
    const delivered = await deliverToBoth(message);
    const ann = await emailIdIn(inboxes.ann!.inboxId, delivered.ann!.uid);
    const bo = await emailIdIn(inboxes.bo!.inboxId, delivered.bo!.uid);
    expect(ann!.emailId).toBe(emailIdOf(sha256(blobId(message), delivered.ann!.prefix)));
    expect(bo!.emailId).toBe(emailIdOf(sha256(blobId(message), delivered.bo!.prefix)));
    expect(ann!.emailId).not.toBe(bo!.emailId);
    // Delivery saved it now, whatever its INTERNALDATE.
    expect(ann!.internalDate.toISOString()).toBe('2021-05-05T05:05:05.000Z');
    expect(Math.abs(ann!.savedAt!.getTime() - started)).toBeLessThan(60_000);

    const copied = await copyMessages(
      store.pool,
      inboxes.ann!.accountId,
      inboxes.ann!.inboxId,
      [delivered.ann!.uid],
      'Archive',
      false,
    );
    if (typeof copied === 'string') throw new Error(copied);
    const archive = (await findMailbox(store.pool, inboxes.ann!.accountId, 'Archive'))!;
    const copy = await emailIdIn(archive.id, copied.target[0]!);
    expect(copy!.emailId).toBe(ann!.emailId);
    expect(copy!.savedAt!.getTime()).toBeGreaterThanOrEqual(ann!.savedAt!.getTime());
    expect(
      await searchImapMessages(store.pool, archive.id, { op: 'emailid', emailId: ann!.emailId! }),
    ).toEqual([copied.target[0]]);
    expect(
      await searchImapMessages(store.pool, archive.id, { op: 'emailid', emailId: bo!.emailId! }),
    ).toEqual([]);
  });

  it('names an APPENDed message by its blob alone, and reads the EMAILID only when asked', async () => {
    const raw = Buffer.from('Subject: appended\r\n\r\nno prefix\r\n');
    const appended = await appendMessage(store.pool, { mailboxId: inboxes.bo!.inboxId, raw });
    expect((await emailIdIn(inboxes.bo!.inboxId, appended.uid))!.emailId).toBe(emailIdOf(blobId(raw)));
    const [plain] = await fetchImapMessages(store.pool, inboxes.bo!.inboxId, [appended.uid], {
      metadata: false,
      raw: false,
    });
    expect(plain!.emailId).toBeUndefined();
    expect(plain!.savedAt).toBeInstanceOf(Date);
  });
});
