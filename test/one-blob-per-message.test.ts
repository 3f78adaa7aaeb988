import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { createAccount } from '@tegami/store';
import { freePort, LineClient, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ImapResponse,
  ImapTestClient,
  type ImapValue,
  isImapString,
  parseFetchResponse,
} from './support/imap-client.js';
import { type MailSite, startMailSite } from './support/mail-site.js';

// One blob per message (issue 16 §4), end to end with real processes: a MIME message sent
// to smtp-ingress for 100 local users is stored once (the blob smtp-ingress stored), and
// each user reads over IMAP and POP3 their own Return-Path and Delivered-To in front of it,
// byte for byte, with sizes, sections, BODYSTRUCTURE, ENVELOPE and SEARCH as if the whole
// copy had been stored as it was before (compared with an APPEND of the same bytes).

const RECIPIENTS = 100;
const SENDER = 'sender@elsewhere.test';
const message = readFileSync(new URL('../../shared/corpus/nested-alternative-rfc822.eml', import.meta.url));
const users = Array.from({ length: RECIPIENTS }, (_, i) => `rcpt${String(i).padStart(3, '0')}@many.test`);
const password = 'many-password';

let dns: TestDnsServer;
let site: MailSite;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'many.test',
    ip: '127.0.0.11',
    mxPort: await freePort(),
    dnsUpstream: dns.address,
    imap: 1,
    pop: 1,
  });
  for (let i = 0; i < users.length; i += 10) {
    await Promise.all(users.slice(i, i + 10).map((user) => createAccount(site.store.pool, user, password)));
  }
}, 300_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

/** One SMTP transaction to the MX listener: DATA dot-stuffed, as any client sends it. */
async function sendToAll(): Promise<void> {
  const smtp = await LineClient.connect(site.ingresses[0]!.mxPort, { host: site.ip });
  expect((await smtp.readReply()).code).toBe(220);
  expect((await smtp.command('EHLO client.elsewhere.test')).code).toBe(250);
  expect((await smtp.command(`MAIL FROM:<${SENDER}> BODY=8BITMIME`)).code).toBe(250);
  for (const user of users) expect((await smtp.command(`RCPT TO:<${user}>`)).code).toBe(250);
  expect((await smtp.command('DATA')).code).toBe(354);
  const stuffed = message.toString('latin1').replace(/^\./gm, '..');
  smtp.write(Buffer.concat([Buffer.from(stuffed, 'latin1'), Buffer.from('.\r\n')]));
  expect((await smtp.readReply(30_000)).code).toBe(250);
  smtp.close();
}

async function count(sql: string): Promise<number> {
  const result = await site.store.pool.query<{ n: string }>(sql);
  return Number(result.rows[0]!.n);
}

function prefixFor(user: string): Buffer {
  return Buffer.from(`Return-Path: <${SENDER}>\r\nDelivered-To: ${user}\r\n`);
}

function fetched(response: ImapResponse): Map<string, ImapValue> {
  expect(response.tagged).toMatch(/^\S+ OK/);
  const parsed = response.untagged.map(parseFetchResponse).find((r) => r !== null);
  if (!parsed) throw new Error(`no FETCH response: ${response.tagged}`);
  return parsed.items;
}

function bytesOf(value: ImapValue | undefined): Buffer {
  if (value === undefined || !isImapString(value!)) throw new Error('not a string');
  return value.string;
}

/** RETR over a raw socket: the multi-line answer, un-stuffed, as octets. */
async function popRetrieve(user: string): Promise<{ listed: string; body: Buffer }> {
  const socket = connectTcp({ host: site.ip, port: site.popPort });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const until = async (ending: string) => {
    const deadline = Date.now() + 15_000;
    while (!Buffer.concat(chunks).toString('latin1').endsWith(ending)) {
      if (Date.now() > deadline) throw new Error(`POP3: no ${JSON.stringify(ending)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const all = Buffer.concat(chunks);
    chunks.length = 0;
    return all;
  };
  await until('\r\n');
  socket.write(`USER ${user}\r\n`);
  await until('\r\n');
  socket.write(`PASS ${password}\r\n`);
  expect((await until('\r\n')).toString('latin1')).toMatch(/^\+OK/);
  socket.write('LIST 1\r\n');
  const listed = (await until('\r\n')).toString('latin1').trim();
  socket.write('RETR 1\r\n');
  const answer = await until('\r\n.\r\n');
  socket.end('QUIT\r\n');
  const text = answer.toString('latin1');
  const body = text.slice(text.indexOf('\r\n') + 2, -3).replace(/^\.\./gm, '.');
  return { listed, body: Buffer.from(body, 'latin1') };
}

describe('one blob per message', () => {
  it('stores a message to 100 local users once, and serves each their own copy over IMAP and POP3', async () => {
    const blobsBefore = await count('SELECT count(*) AS n FROM blobs');
    await sendToAll();
    const deadline = Date.now() + 120_000;
    while ((await count('SELECT count(*) AS n FROM messages')) < RECIPIENTS) {
      if (Date.now() > deadline)
        throw new Error(`delivered ${await count('SELECT count(*) AS n FROM messages')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The one row smtp-ingress stored, and nothing more for 100 deliveries.
    expect(await count('SELECT count(*) AS n FROM blobs')).toBe(blobsBefore + 1);
    expect(await count('SELECT count(DISTINCT blob_sha256) AS n FROM messages')).toBe(1);
    const stored = await site.store.pool.query<{ data: Buffer }>(
      'SELECT b.data FROM blobs b JOIN queue q ON q.blob_sha256 = b.sha256',
    );
    expect(stored.rows).toHaveLength(1);
    const blob = stored.rows[0]!.data;
    // smtp-ingress put its Received field in front; the message follows unchanged.
    expect(blob.subarray(blob.length - message.length).equals(message)).toBe(true);

    const readCopy = async (user: string) => {
      const expected = Buffer.concat([prefixFor(user), blob]);
      const imap = await ImapTestClient.connect(site.imaps[0]!.port, site.ip);
      await imap.login(user, password);
      expect((await imap.command('SELECT INBOX')).tagged).toMatch(/OK/);
      const response = await imap.command(
        'FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (DELIVERED-TO RETURN-PATH)])',
      );
      const items = fetched(response);
      expect(bytesOf(items.get('BODY[]')).equals(expected), `BODY[] of ${user}`).toBe(true);
      expect(items.get('RFC822.SIZE')).toEqual({ atom: String(expected.length) });
      expect(Buffer.concat(response.untagged).toString('latin1')).toContain(
        `Return-Path: <${SENDER}>\r\nDelivered-To: ${user}\r\n\r\n`,
      );
      const search = await imap.command(`SEARCH HEADER Delivered-To "${user}"`);
      expect(search.untagged.map((u) => u.toString('latin1'))).toContain('* SEARCH 1');
      await imap.close();
    };
    // Ten sessions at a time: each LOGIN is a password check that takes its while.
    for (let i = 0; i < users.length; i += 10) await Promise.all(users.slice(i, i + 10).map(readCopy));

    const pop = await popRetrieve(users[7]!);
    const expected = Buffer.concat([prefixFor(users[7]!), blob]);
    expect(pop.listed).toBe(`+OK 1 ${expected.length}`);
    expect(pop.body.equals(expected)).toBe(true);
  }, 600_000);

  it('serves every section of a delivered copy as an APPEND of the same bytes is served', async () => {
    const user = users[42]!;
    const imap = await ImapTestClient.connect(site.imaps[0]!.port, site.ip);
    await imap.login(user, password);
    await imap.command('SELECT INBOX');
    const whole = bytesOf(fetched(await imap.command('FETCH 1 (BODY.PEEK[])')).get('BODY[]'));
    expect((await imap.append('Archive', whole)).tagged).toMatch(/OK/);
    // Header sections alone are read from the header's bytes (the copy's prefix, then the
    // blob's header, cut at the stored body offset), and the second time from the gateway's
    // cache: the same bytes as the whole message's header, both times.
    const header = whole.subarray(0, whole.indexOf('\r\n\r\n') + 4);
    for (let round = 0; round < 2; round++) {
      const alone = fetched(await imap.command('FETCH 1 (BODY.PEEK[HEADER] RFC822.SIZE ENVELOPE)'));
      expect(bytesOf(alone.get('BODY[HEADER]')).equals(header), `BODY[HEADER], round ${round}`).toBe(true);
      expect(alone.get('RFC822.SIZE')).toEqual({ atom: String(whole.length) });
      const fields = await imap.command('FETCH 1 BODY.PEEK[HEADER.FIELDS (DELIVERED-TO RETURN-PATH)]');
      expect(Buffer.concat(fields.untagged).toString('latin1')).toContain(
        `Return-Path: <${SENDER}>\r\nDelivered-To: ${user}\r\n\r\n`,
      );
    }
    const items =
      'ENVELOPE BODYSTRUCTURE RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[1.1] ' +
      'BODY.PEEK[1.1.MIME] BODY.PEEK[1.2] BODY.PEEK[2] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] ' +
      'BODY.PEEK[2.MIME] BODY.PEEK[3] BINARY.PEEK[1.1] BINARY.SIZE[1.1] BINARY.PEEK[3] BODY.PEEK[]<5.60>';
    const delivered = (await imap.command(`FETCH 1 (${items})`)).untagged.map((u) => u.toString('latin1'));
    await imap.command('SELECT Archive');
    const appended = (await imap.command(`FETCH 1 (${items})`)).untagged.map((u) => u.toString('latin1'));
    const fetchOf = (lines: string[]) => lines.find((l) => / FETCH /.test(l));
    expect(fetchOf(delivered)).toBeDefined();
    expect(fetchOf(delivered)).toBe(fetchOf(appended));
    for (const query of [
      'TEXT "Zweite"',
      'BODY "Zweite Zeile"',
      'HEADER Return-Path sender',
      `HEADER Delivered-To ${user}`,
      'SUBJECT ASCII',
    ]) {
      await imap.command('SELECT INBOX');
      const inInbox = (await imap.command(`SEARCH ${query}`)).untagged.map((u) => u.toString('latin1'));
      await imap.command('SELECT Archive');
      const inArchive = (await imap.command(`SEARCH ${query}`)).untagged.map((u) => u.toString('latin1'));
      expect(inInbox, query).toEqual(inArchive);
    }
    await imap.close();
  }, 120_000);
});
