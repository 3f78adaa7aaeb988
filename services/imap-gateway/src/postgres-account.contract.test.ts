import { connectNatsBus, type MailBus } from '@tegami/bus';
import { addDomain, createAccount, migrate, openStore, type StorePool, setQuota } from '@tegami/store';
import { createTestDatabase, type TestDatabase, testNats } from '@tegami/testing';
import { describeMailStoreContract } from '@tegami/testing/mail-store-contract';
import { afterAll, beforeAll } from 'vitest';
import { MailboxWatchers } from './mailbox-watchers.js';
import { MessageFactsCache } from './message-facts-cache.js';
import { openPostgresAccount } from './postgres-account.js';

// The Postgres store, as the gateway opens it for each session, held to the mail store
// contract that the engine tests' in-memory store is held to: a real database of this
// file's own, and a real NATS carrying the "look again" events between sessions.

let database: TestDatabase;
let store: StorePool;
let bus: MailBus;
let watchers: MailboxWatchers;
let users = 0;
// As the gateway runs it: one cache for the process, so the contract holds with it too.
const facts = new MessageFactsCache(8 << 20);

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.org');
  const nats = await testNats();
  bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
  watchers = new MailboxWatchers(bus);
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await store?.close();
  await database?.drop();
});

describeMailStoreContract('Postgres', async () => {
  const address = `user${++users}@example.org`;
  const account = await createAccount(store.pool, address, 'a password for the contract');
  return {
    session: async () => openPostgresAccount({ pool: store.pool, bus, watchers, facts }, account.id, address),
    setQuota: (bytes) => setQuota(store.pool, address, bytes),
  };
});
