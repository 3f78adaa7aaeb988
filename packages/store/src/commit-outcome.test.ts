import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { messagesGone } from './commit-outcome.js';
import { addDomain } from './domains.js';
import { createMailbox } from './mailboxes.js';
import { appendMessage, expungeMessages } from './messages.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.org');
  accountId = (await createAccount(store.pool, 'pat@example.org', 'pw')).id;
});
afterAll(() => store.close());

describe('messagesGone (after an expunge whose answer was lost)', () => {
  it('says yes only when none of the messages is left in the mailbox', async () => {
    const mailbox = await createMailbox(store.pool, accountId, 'Lost');
    const a = await appendMessage(store.pool, {
      mailboxId: mailbox.id,
      raw: Buffer.from('Subject: a\r\n\r\na\r\n'),
    });
    const b = await appendMessage(store.pool, {
      mailboxId: mailbox.id,
      raw: Buffer.from('Subject: b\r\n\r\nb\r\n'),
    });
    expect(await messagesGone(store.pool, mailbox.id, [a.uid, b.uid])).toBe(false);
    await expungeMessages(store.pool, mailbox.id, [a.uid]);
    expect(await messagesGone(store.pool, mailbox.id, [a.uid, b.uid])).toBe(false);
    expect(await messagesGone(store.pool, mailbox.id, [a.uid])).toBe(true);
  });
});
