import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import { fetchImapMessages } from './imap-mailbox.js';
import { createMailbox } from './mailboxes.js';
import { readMessageBytes } from './message-bytes.js';
import { appendMessage } from './messages.js';
import { openTestStore } from './test-store.js';

// The bytes come out exactly as they went in, whatever they are: the blob travels base64
// (message-bytes.ts), so every octet value, NULs and bare CRs included, and sizes that
// end the base64 with and without padding, and past Postgres's 76-character line breaks.

let store: Awaited<ReturnType<typeof openTestStore>>;
let mailboxId: string;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.com');
  const accountId = (await createAccount(store.pool, 'bytes@example.com', 'pw')).id;
  mailboxId = (await createMailbox(store.pool, accountId, 'Bytes')).id;
});
afterAll(() => store.close());

describe('readMessageBytes', () => {
  it('gives back every octet as stored, for sizes around the base64 padding and line breaks', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const raws = [0, 1, 2, 3, 56, 57, 58, 100_001].map((extra) =>
      Buffer.concat([Buffer.from('Subject: octets\r\n\r\n'), every, Buffer.alloc(extra, 0xff)]),
    );
    raws.push(Buffer.alloc(0));
    const uids: number[] = [];
    for (const raw of raws) uids.push((await appendMessage(store.pool, { mailboxId, raw })).uid);
    const read = await readMessageBytes(store.pool, mailboxId, uids);
    for (const [i, raw] of raws.entries()) expect(read.get(uids[i]!)?.equals(raw), `message ${i}`).toBe(true);
    const fetched = await fetchImapMessages(store.pool, mailboxId, uids, { metadata: false, raw: true });
    expect(fetched.map((m) => m.raw?.length)).toEqual(raws.map((r) => r.length));
    for (const [i, m] of fetched.entries())
      expect(m.raw!.equals(raws[i]!), `FETCH of message ${i}`).toBe(true);
  });
});
