import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// SAVEDATE (RFC 8514), Tegami against Dovecot 2.3: the same messages APPENDed to both with an
// INTERNALDATE long past, then COPY and MOVE to another mailbox. The save dates themselves
// are the two servers' clocks, so they are compared by what they say (today, not the
// INTERNALDATE; a copy's not before its original's), and every SEARCH by save date must
// find the same messages on both. The days are UTC days on both (Tegami keeps its dates in
// UTC; Dovecot uses the machine's zone, which the tests run in UTC).

const LONG_AGO = '01-Jan-2020 10:00:00 +0000';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const message = (n: number) =>
  Buffer.from(
    `From: a@example.org\r\nSubject: saved ${n}\r\nDate: Wed, 1 Jan 2020 10:00:00 +0000\r\n` +
      `Message-ID: <${n}.savedate@example.org>\r\n\r\nbody ${n}\r\n`,
  );

/** A search date (RFC 3501 date) `days` from today, UTC. */
function searchDay(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.getUTCDate()}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
}

function searchNumbers(untagged: readonly Buffer[]): number[] {
  const line = untagged.map((b) => b.toString('utf8')).find((l) => l.startsWith('* SEARCH'));
  return (line ?? '* SEARCH').slice('* SEARCH'.length).trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Each message's SAVEDATE (ms since the epoch; null for NIL) and INTERNALDATE text, by sequence number. */
function savedDates(untagged: readonly Buffer[]): { saved: number | null; internal: string }[] {
  return untagged
    .map((b) => b.toString('utf8'))
    .filter((l) => /^\* \d+ FETCH /.test(l))
    .map((l) => {
      const saved = /SAVEDATE (?:"([^"]+)"|NIL)/.exec(l);
      const internal = /INTERNALDATE "([^"]+)"/.exec(l);
      if (!saved || !internal) throw new Error(`no SAVEDATE or INTERNALDATE in ${l}`);
      return { saved: saved[1] ? Date.parse(saved[1].replace(/-/g, ' ')) : null, internal: internal[1]! };
    });
}

describe('SAVEDATE against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let d: ImapTestClient;
  let t: ImapTestClient;
  let started: number;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([startDovecotImap(), startImapGatewayUnderTest('imap-savedate')]);
    [d, t] = await Promise.all([ImapTestClient.connect(dovecot.port), ImapTestClient.connect(tegami.port)]);
    await Promise.all([d.login(dovecot.user, dovecot.password), t.login(tegami.user, tegami.password)]);
    // Both clocks count in whole seconds on the wire.
    started = Math.floor(Date.now() / 1000) * 1000 - 1000;
    for (const client of [d, t]) {
      for (const n of [1, 2, 3]) {
        const { tagged } = await client.append('INBOX', message(n), [], LONG_AGO);
        if (!/^\S+ OK/.test(tagged)) throw new Error(`APPEND failed: ${tagged}`);
      }
      for (const command of ['CREATE Kept', 'SELECT INBOX', 'COPY 1 Kept', 'MOVE 2 Kept']) {
        const { tagged } = await client.command(command);
        if (!/^\S+ OK/.test(tagged)) throw new Error(`${command} failed: ${tagged}`);
      }
    }
  }, 60_000);

  afterAll(async () => {
    await d?.close();
    await t?.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('advertises SAVEDATE, as Dovecot does', async () => {
    for (const client of [d, t]) {
      const { untagged } = await client.command('CAPABILITY');
      expect(untagged.map((b) => b.toString()).join('')).toMatch(/ SAVEDATE[ \r]/);
    }
  });

  it('dates APPEND, COPY and MOVE by when they saved, not by the INTERNALDATE', async () => {
    for (const [name, client] of [
      ['dovecot', d],
      ['tegami', t],
    ] as const) {
      const inbox = savedDates((await client.command('FETCH 1:* (SAVEDATE INTERNALDATE)')).untagged);
      await client.command('SELECT Kept');
      const kept = savedDates((await client.command('FETCH 1:* (SAVEDATE INTERNALDATE)')).untagged);
      await client.command('SELECT INBOX');
      // INBOX holds 1 and 3 (2 moved); Kept the copy of 1 and 2 moved.
      expect(inbox.length, name).toBe(2);
      expect(kept.length, name).toBe(2);
      for (const { saved, internal } of [...inbox, ...kept]) {
        expect(internal, name).toBe(LONG_AGO);
        expect(saved, name).not.toBeNull();
        expect(saved!, name).toBeGreaterThanOrEqual(started);
        expect(saved!, name).toBeLessThanOrEqual(Date.now() + 1000);
      }
      expect(kept[0]!.saved!, name).toBeGreaterThanOrEqual(inbox[0]!.saved!);
    }
  });

  it('finds by save date what Dovecot finds', async () => {
    const queries = [
      `SAVEDON ${searchDay(0)}`,
      `SAVEDSINCE ${searchDay(0)}`,
      `SAVEDSINCE ${searchDay(1)}`,
      `SAVEDBEFORE ${searchDay(0)}`,
      `SAVEDBEFORE ${searchDay(1)}`,
      `SAVEDON ${searchDay(-1)}`,
      'SAVEDATESUPPORTED',
      'NOT SAVEDATESUPPORTED',
      `OR SAVEDON ${searchDay(0)} ON 1-Jan-2020`,
      `SAVEDSINCE ${searchDay(0)} ON 1-Jan-2020`,
      `SAVEDSINCE ${searchDay(0)} SINCE ${searchDay(0)}`,
    ];
    const differences: string[] = [];
    for (const mailbox of ['INBOX', 'Kept']) {
      await Promise.all([d.command(`SELECT ${mailbox}`), t.command(`SELECT ${mailbox}`)]);
      for (const query of queries) {
        const command = `UID SEARCH ${query}`;
        const [dr, tr] = await Promise.all([d.command(command), t.command(command)]);
        expect(dr.tagged, command).toMatch(/^\S+ OK/);
        expect(tr.tagged, command).toMatch(/^\S+ OK/);
        const [expected, got] = [searchNumbers(dr.untagged), searchNumbers(tr.untagged)];
        if (got.join(' ') !== expected.join(' '))
          differences.push(`${mailbox} ${command}: dovecot ${expected.join(' ')}, tegami ${got.join(' ')}`);
      }
    }
    expect(differences).toEqual([]);
    // Not vacuous: today's search found every message.
    expect(searchNumbers((await t.command(`SEARCH SAVEDON ${searchDay(0)}`)).untagged)).toEqual([1, 2]);
  });

  it('refuses a save date missing as Dovecot does; an impossible day as it refuses one for ON', async () => {
    for (const client of [d, t]) {
      expect((await client.command('SEARCH SAVEDBEFORE')).tagged).toMatch(/^\S+ BAD/);
      expect((await client.command('SEARCH SAVEDON 1-Jan')).tagged).toMatch(/^\S+ BAD/);
    }
    // A day past the month's end: Dovecot takes it (for ON as well), Tegami answers BAD, as
    // it does for every date key (RFC 3501 date-day is a day of that month).
    const [dOn, dSaved] = [
      await d.command('SEARCH ON 32-Jan-2026'),
      await d.command('SEARCH SAVEDON 32-Jan-2026'),
    ];
    expect(dSaved.tagged.split(' ')[1]).toBe(dOn.tagged.split(' ')[1]);
    expect((await t.command('SEARCH ON 32-Jan-2026')).tagged).toMatch(/^\S+ BAD/);
    expect((await t.command('SEARCH SAVEDON 32-Jan-2026')).tagged).toMatch(/^\S+ BAD/);
  });
});
