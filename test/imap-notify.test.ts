import { connectNatsBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry } from '@tegami/runtime';
import { addDomain, createAccount, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, startImapGateway } from '../services/imap-gateway/src/imap-gateway.js';
import { ImapLineClient } from './support/imap-line-client.js';

// IMAP NOTIFY (RFC 5465) across replicas: two imap-gateways in this process, each with a
// NATS connection of its own, on one Postgres, as two pods behind one Service. A client
// of the first asks NOTIFY and IDLEs; a client of the second changes the account; the
// first hears of every change within a second, through NATS alone (the gateways share no
// memory: each has its own watchers, shelf and caches).

const USER = 'notify@notify.test';
const PASSWORD = 'notify-password';
const WITHIN_MS = 1_000;

let database: TestDatabase;
let store: StorePool;
const buses: MailBus[] = [];
const gateways: ImapGateway[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 8 });
  await migrate(store.pool);
  await addDomain(store.pool, 'notify.test');
  await createAccount(store.pool, USER, PASSWORD);
  const nats = await testNats();
  for (const replica of [1, 2]) {
    const bus = await connectNatsBus({ servers: nats.url, prefix: nats.prefix });
    buses.push(bus);
    gateways.push(
      await startImapGateway({
        pool: store.pool,
        bus,
        logger: createLogger({ service: `imap-notify-${replica}`, level: 'warn' }),
        metrics: createMetricsRegistry(`imap-notify-${replica}`),
        hostname: `imap${replica}.notify.test`,
        host: '127.0.0.1',
        imapPort: 0,
        imapsPort: undefined,
        tls: undefined,
        idleTimeoutMs: 120_000,
        maxConnections: 20,
        maxConnectionsPerIp: 20,
        maxConnectionsPerUser: 10,
        allowPlaintextAuth: false,
        maxMessageSize: 10 * 1024 * 1024,
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  for (const bus of buses) await bus.close();
  await store?.close();
  await database?.drop();
});

async function loggedIn(replica: 0 | 1): Promise<ImapLineClient> {
  const client = await ImapLineClient.connect(gateways[replica]!.ports.imap!);
  const answer = await client.command(`LOGIN "${USER}" "${PASSWORD}"`);
  if (!/^t\d+ OK/.test(answer.at(-1)!)) throw new Error(`login failed: ${answer.join(' | ')}`);
  return client;
}

const message = (n: number) =>
  `From: b@notify.test\r\nTo: ${USER}\r\nSubject: notify ${n}\r\nMessage-ID: <${n}@notify.test>\r\n\r\nbody ${n}\r\n`;

describe('NOTIFY across imap-gateway replicas', () => {
  it('tells a client IDLE on one replica of changes made through the other within a second', async () => {
    const a = await loggedIn(0);
    const b = await loggedIn(1);
    try {
      expect((await a.command('CAPABILITY'))[0]).toMatch(/ NOTIFY( |$)/);
      expect((await a.command('SELECT INBOX')).at(-1)).toMatch(/^t\d+ OK \[READ-WRITE\]/);
      expect(
        await a.command(
          'NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName))',
        ),
      ).toEqual([expect.stringMatching(/^t\d+ OK NOTIFY completed$/)]);
      a.send('IDLE');
      await a.waitFor((l) => l.startsWith('+ '), 5_000);

      // APPEND to a mailbox that is not selected: STATUS.
      const text = message(1);
      const appended = await b.command(`APPEND Sent {${Buffer.byteLength(text)}+}\r\n${text}`);
      expect(appended.at(-1)).toMatch(/OK \[APPENDUID/);
      const status = await a.waitFor((l) => l.startsWith('* STATUS'), WITHIN_MS);
      expect(status.at(-1)).toMatch(/^\* STATUS "Sent" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)$/);

      // RENAME: LIST with OLDNAME.
      expect((await b.command('RENAME Archive Old')).at(-1)).toMatch(/OK/);
      const renamed = await a.waitFor((l) => l.startsWith('* LIST'), WITHIN_MS);
      expect(renamed.at(-1)).toBe('* LIST () "/" "Old" ("OLDNAME" ("Archive"))');

      // CREATE and DELETE: LIST, then LIST \NonExistent.
      expect((await b.command('CREATE Scratch')).at(-1)).toMatch(/OK/);
      expect((await a.waitFor((l) => l.startsWith('* LIST'), WITHIN_MS)).at(-1)).toBe(
        '* LIST () "/" "Scratch"',
      );
      expect((await b.command('DELETE Scratch')).at(-1)).toMatch(/OK/);
      expect((await a.waitFor((l) => l.startsWith('* LIST'), WITHIN_MS)).at(-1)).toBe(
        '* LIST (\\NonExistent) "/" "Scratch"',
      );

      // EXPUNGE in a mailbox that is not selected: STATUS with the new count.
      await b.command('SELECT Sent');
      await b.command('STORE 1 +FLAGS (\\Deleted)');
      // FlagChange was not asked for PERSONAL: nothing for the flag.
      expect((await b.command('EXPUNGE')).at(-1)).toMatch(/OK/);
      const expunged = await a.waitFor((l) => l.startsWith('* STATUS'), WITHIN_MS);
      expect(expunged).toEqual([
        expect.stringMatching(/^\* STATUS "Sent" \(MESSAGES 0 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0\)$/),
      ]);

      // The selected mailbox: EXISTS, then FETCH FLAGS and EXPUNGE, as soon as they happen.
      const inboxText = message(2);
      await b.command(`APPEND INBOX {${Buffer.byteLength(inboxText)}+}\r\n${inboxText}`);
      expect((await a.waitFor((l) => /^\* \d+ EXISTS$/.test(l), WITHIN_MS)).at(-1)).toBe('* 1 EXISTS');
      await b.command('SELECT INBOX');
      await b.command('STORE 1 +FLAGS (\\Deleted)');
      expect((await a.waitFor((l) => l.includes('FETCH'), WITHIN_MS)).at(-1)).toMatch(
        /^\* 1 FETCH \(UID 1 FLAGS \(.*\\Deleted.*\)\)$/,
      );
      await b.command('EXPUNGE');
      expect((await a.waitFor((l) => l.endsWith('EXPUNGE'), WITHIN_MS)).at(-1)).toBe('* 1 EXPUNGE');

      a.send('DONE', false);
      expect((await a.waitFor((l) => /^t\d+ /.test(l), 5_000)).at(-1)).toMatch(/OK IDLE terminated/);
    } finally {
      a.close();
      b.close();
    }
  }, 30_000);

  it('tells a client between commands too, without IDLE, and stops after NOTIFY NONE', async () => {
    const a = await loggedIn(0);
    const b = await loggedIn(1);
    try {
      await a.command('NOTIFY SET (MAILBOXES Drafts (MessageNew MessageExpunge))');
      const text = message(3);
      await b.command(`APPEND Drafts {${Buffer.byteLength(text)}+}\r\n${text}`);
      expect((await a.waitFor((l) => l.startsWith('* STATUS'), WITHIN_MS)).at(-1)).toMatch(
        /^\* STATUS "Drafts" \(MESSAGES 1 UIDNEXT 2 /,
      );
      await a.command('NOTIFY NONE');
      await b.command(`APPEND Drafts {${Buffer.byteLength(text)}+}\r\n${text}`);
      expect(await a.linesWithin(300)).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  }, 30_000);
});
