import { connectNatsBus, type MailBus, type MailboxChanged } from '@tegami/bus';
import { describeMessage, type ImapAccount, ImapSession } from '@tegami/protocol';
import { createLogger } from '@tegami/runtime';
import {
  addDomain,
  appendMessage,
  createAccount,
  findMailbox,
  migrate,
  openStore,
  type StorePool,
  saslLogins,
} from '@tegami/store';
import { createTestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxWatchers } from '../src/mailbox-watchers.js';
import { openPostgresAccount } from '../src/postgres-account.js';

// Issue 16 §5: a \Seen set by FETCH (or any STORE) is announced on the bus for the other
// sessions and comes back to the session that made it. That echo must not make the session
// read the store again; the changes of other sessions still must.

let store: StorePool;
let bus: MailBus;
let watchers: MailboxWatchers;
let accountId: string;
let inboxId: string;

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  accountId = (await createAccount(store.pool, 'carol@example.test', 'carol-password')).id;
  inboxId = (await findMailbox(store.pool, accountId, 'INBOX'))!.id;
  for (let i = 1; i <= 3; i++) {
    const raw = Buffer.from(`From: dave@example.test\r\nSubject: note ${i}\r\n\r\nNote ${i}.\r\n`);
    const d = describeMessage(raw);
    await appendMessage(store.pool, {
      mailboxId: inboxId,
      raw,
      metadata: d.metadata,
      searchText: d.searchText,
    });
  }
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  watchers = new MailboxWatchers(bus);
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await store?.close();
});

/** A session over the Postgres account, counting its re-reads of the store and its "look" wake-ups. */
function session() {
  const counts = { syncs: 0, looks: 0 };
  let output = '';
  const logger = createLogger({ service: 'imap-test', level: 'warn' });
  const { lookupCredentials } = saslLogins(store.pool, undefined, logger);
  const counting = (account: ImapAccount): ImapAccount => ({
    ...account,
    async open(name, readOnly) {
      const box = await account.open(name, readOnly);
      return (
        box && {
          ...box,
          changesSince(modseq) {
            counts.syncs++;
            return box.changesSince(modseq);
          },
          watch: (listener) =>
            box.watch(() => {
              counts.looks++;
              listener();
            }),
        }
      );
    },
  });
  const imap = new ImapSession(
    {
      hostname: 'imap.example.test',
      tls: 'unavailable',
      plaintextAllowed: true,
      realms: () => ['example.test'],
      maxMessageSize: 1_000_000,
    },
    {
      lookupCredentials,
      openAccount: async (identity) =>
        counting(
          openPostgresAccount({ pool: store.pool, bus, watchers }, identity.accountId, identity.address),
        ),
    },
    (chunk) => {
      output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    },
  );
  return {
    counts,
    /** Sends one command and returns what the session answered to it. */
    async send(line: string): Promise<string> {
      output = '';
      await imap.receive(Buffer.from(`${line}\r\n`));
      return output;
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('a session and the announcements of its own changes', () => {
  it('does not re-read the store for its own \\Seen, and still sees the changes of others', async () => {
    const mine = session();
    const other = session();
    for (const s of [mine, other]) {
      expect(await s.send('a LOGIN carol@example.test carol-password')).toMatch(/^a OK /m);
      expect(await s.send('b SELECT INBOX')).toMatch(/^b OK \[READ-WRITE\]/m);
    }
    // Every announcement for the mailbox, seen after the sessions' listeners have seen it
    // (one subscription per account, listeners called in order).
    const events: MailboxChanged[] = [];
    const unwatch = watchers.watch(accountId, inboxId, (event) => events.push(event));

    expect(await mine.send('c FETCH 1 BODY[]')).toMatch(/ FLAGS \(\\Seen[ )]/);
    await until(() => events.length === 1);
    expect(events[0]).toMatchObject({ kind: 'flags', uids: [1] });
    // The echo woke neither session that made it; the other session was told to look.
    expect(mine.counts.looks).toBe(0);
    expect(other.counts.looks).toBe(1);
    // A command that syncs only when told to look: no read of the store.
    expect(await mine.send('d STATUS INBOX (MESSAGES)')).toBe(
      '* STATUS "INBOX" (MESSAGES 3)\r\nd OK STATUS completed\r\n',
    );
    expect(mine.counts.syncs).toBe(0);

    // The other session was told to look: it reads the store once and hears of the \Seen.
    expect(await other.send('e STORE 2 +FLAGS.SILENT (\\Flagged)')).toBe(
      '* 1 FETCH (UID 1 FLAGS (\\Seen))\r\ne OK STORE completed\r\n',
    );
    expect(other.counts.syncs).toBe(1);
    await until(() => events.length === 2);
    expect(mine.counts.looks).toBe(1);
    expect(other.counts.looks).toBe(1);
    // The other session's change is news, read once and told.
    expect(await mine.send('f CHECK')).toBe(
      '* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))\r\nf OK CHECK completed\r\n',
    );
    expect(mine.counts.syncs).toBe(1);
    // Its own \Flagged did not wake the other session; nothing is news to it.
    expect(other.counts.looks).toBe(1);
    expect(await other.send('g NOOP')).toBe('g OK NOOP completed\r\n');
    unwatch();
  });
});
