import { connectNatsBus, type MailBus } from '@tegami/bus';
import { describeMessage, ImapSession, SharedMailboxStates } from '@tegami/protocol';
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
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxIds } from '../src/mailbox-ids.js';
import { MailboxWatchers } from '../src/mailbox-watchers.js';
import { openPostgresAccount } from '../src/postgres-account.js';

// A SELECT of a mailbox other sessions of the gateway have open starts from the shelf's
// state and reads only what changed since (issue 17): the rows the open statement returns
// are counted, and each session's SELECT answer must be what a full snapshot gives.

let store: StorePool;
let bus: MailBus;
let watchers: MailboxWatchers;
let accountId: string;
const opens: number[] = []; // rows returned by each open statement
const states = new SharedMailboxStates();
const mailboxIds = new MailboxIds();

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  accountId = (await createAccount(store.pool, 'erin@example.test', 'erin-password')).id;
  const inboxId = (await findMailbox(store.pool, accountId, 'INBOX'))!.id;
  for (let i = 1; i <= 40; i++) {
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

/** The pool, counting the rows of each open statement. */
function countingPool(): pg.Pool {
  return new Proxy(store.pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return async (config: pg.QueryConfig) => {
        const result = await target.query(config);
        if (config?.name === 'imap-open-by-name') opens.push(result.rows.length);
        return result;
      };
    },
  });
}

function session() {
  let output = '';
  const logger = createLogger({ service: 'imap-test', level: 'warn' });
  const { lookupCredentials } = saslLogins(store.pool, undefined, logger);
  const pool = countingPool();
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
        openPostgresAccount(
          { pool, bus, watchers, states, mailboxIds },
          identity.accountId,
          identity.address,
        ),
    },
    (chunk) => {
      output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    },
  );
  return {
    async send(line: string): Promise<string> {
      output = '';
      await imap.receive(Buffer.from(`${line}\r\n`));
      return output;
    },
  };
}

/** A SELECT answer without its \Recent count, which differs by session by design. */
const selectAnswer = (text: string) => text.replace(/^\* \d+ RECENT\r\n/m, '');

describe('SELECT from the shelf', () => {
  it('reads only the changes since the shared state, and answers as a full snapshot would', async () => {
    const first = session();
    expect(await first.send('a LOGIN erin@example.test erin-password')).toMatch(/^a OK /m);
    const full = await first.send('b EXAMINE INBOX');
    expect(full).toMatch(/^\* 40 EXISTS/m);
    expect(opens.at(-1)).toBe(40); // nothing on the shelf yet: every message

    // Changes by another session while the first keeps its view (and the shelf its state).
    const writer = session();
    expect(await writer.send('a LOGIN erin@example.test erin-password')).toMatch(/^a OK /m);
    expect(await writer.send('b SELECT INBOX')).toMatch(/^\* 40 EXISTS/m);
    expect(opens.at(-1)).toBe(1); // the shelf's state, still current: the mailbox row alone
    expect(await writer.send('c STORE 3 +FLAGS.SILENT (\\Flagged)')).toMatch(/^c OK /m);
    expect(await writer.send('d STORE 5 +FLAGS.SILENT (\\Deleted)')).toMatch(/^d OK /m);
    expect(await writer.send('e EXPUNGE')).toMatch(/^\* 5 EXPUNGE/m);
    expect(await first.send('c NOOP')).toMatch(/^\* 5 EXPUNGE/m); // the first view catches up

    const late = session();
    expect(await late.send('a LOGIN erin@example.test erin-password')).toMatch(/^a OK /m);
    const answer = await late.send('b EXAMINE INBOX');
    expect(opens.at(-1)).toBeLessThanOrEqual(3); // the changed message and the expunged one, not 39
    expect(answer).toMatch(/^\* 39 EXISTS/m);
    // The same view as a full snapshot gives: the answers, the flags and the UIDs.
    const reference = session();
    expect(await reference.send('a LOGIN erin@example.test erin-password')).toMatch(/^a OK /m);
    mailboxIds.delete(accountId, 'INBOX'); // this session does not know the id: a full snapshot
    const fromSnapshot = await reference.send('b EXAMINE INBOX');
    expect(opens.at(-1)).toBe(39);
    expect(selectAnswer(answer)).toBe(selectAnswer(fromSnapshot));
    const fetch = 'c UID FETCH 1:* (FLAGS)';
    expect(await late.send(fetch)).toBe(await reference.send(fetch));
    expect(await late.send(fetch)).toMatch(/FETCH \(UID 3 FLAGS \(\\Flagged\)\)/);
  });
});
