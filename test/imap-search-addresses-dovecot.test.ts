import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// SEARCH FROM / TO / CC by address, Tegami against Dovecot (issue 18: "SEARCH FROM
// user-from@domain.org misses messages whose From matches only in the address part as
// written in the header"). The same messages, with the address written every way RFC 5322
// allows (display names, comments, groups, folding, spaces around @, a quoted local part,
// encoded words, upper case), are APPENDed to both, and each query must find the same
// messages on both.
//
// Dovecot matches an address header only in its addresses written out (`name <a@b>`);
// Tegami matches that and the header's decoded text as well. So where a query quotes the
// header as written and not as Dovecot writes it out, Tegami finds more: those queries are
// listed in TEGAMI_ALSO, each with the messages only Tegami finds, and checked as such.

const ADDRESS = 'user-from@domain.org';
const MESSAGES = [
  `From: "User From" <${ADDRESS}>`,
  `From: ${ADDRESS} (The Comment)`,
  `From: team: ${ADDRESS}, other@x.org;`,
  'From: user-from @ domain.org',
  'From: "Name"\r\n <user-from@\r\n domain.org>',
  `From: =?utf-8?q?User?= <${ADDRESS}>`,
  `From: "${ADDRESS}" <x@y.org>`,
  'From: User <"user-from"@domain.org>',
  'From: User <USER-FROM@DOMAIN.ORG>',
  'From: (c) user-from(x)@(y)domain.org',
  `From: a@b.org\r\nTo: Someone <${ADDRESS}>\r\nCc: =?iso-8859-1?q?J=F6rg_Else?= <jorg@domain.org>`,
].map((header, i) =>
  Buffer.from(
    `${header}\r\nSubject: message ${i + 1}\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nbody\r\n`,
  ),
);

const QUERIES = [
  `FROM ${ADDRESS}`,
  'FROM "User From"',
  'FROM "user from <user-from"',
  'FROM team',
  'FROM comment',
  'FROM domain.org',
  `FROM "User <${ADDRESS}>"`,
  `FROM "<${ADDRESS}>"`,
  'FROM "user-from @ domain"',
  'FROM other@x.org',
  `TO ${ADDRESS}`,
  `TO "someone <${ADDRESS}>"`,
  'CC "rg else <jorg@"',
  'CC jorg@domain.org',
];

/** Sequence numbers only Tegami finds: the query quotes the header's own text. */
const TEGAMI_ALSO: Record<string, number[]> = {
  'FROM "user from <user-from"': [1],
  'FROM "user-from @ domain"': [4],
};

function searchNumbers(untagged: readonly Buffer[]): number[] {
  const line = untagged.map((b) => b.toString('utf8')).find((l) => l.startsWith('* SEARCH'));
  return (line ?? '* SEARCH').slice('* SEARCH'.length).trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('SEARCH by address against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let d: ImapTestClient;
  let t: ImapTestClient;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap(),
      startImapGatewayUnderTest('imap-search-addresses'),
    ]);
    [d, t] = await Promise.all([ImapTestClient.connect(dovecot.port), ImapTestClient.connect(tegami.port)]);
    await Promise.all([d.login(dovecot.user, dovecot.password), t.login(tegami.user, tegami.password)]);
    for (const client of [d, t]) {
      for (const raw of MESSAGES) {
        const { tagged } = await client.append('INBOX', raw);
        if (!/^\S+ OK/.test(tagged)) throw new Error(`APPEND failed: ${tagged}`);
      }
      const { tagged } = await client.command('SELECT INBOX');
      if (!/^\S+ OK/.test(tagged)) throw new Error(`SELECT failed: ${tagged}`);
    }
  }, 60_000);

  afterAll(async () => {
    await d?.close();
    await t?.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('finds what Dovecot finds for every query, and only the listed more', async () => {
    const differences: string[] = [];
    for (const query of QUERIES) {
      const command = `SEARCH ${query}`;
      const [dr, tr] = await Promise.all([d.command(command), t.command(command)]);
      expect(tr.tagged, command).toMatch(/^\S+ OK/);
      expect(dr.tagged, command).toMatch(/^\S+ OK/);
      const expected = [...searchNumbers(dr.untagged), ...(TEGAMI_ALSO[query] ?? [])].sort((a, b) => a - b);
      const got = searchNumbers(tr.untagged);
      if (got.join(' ') !== expected.join(' ')) {
        differences.push(
          `${command}: dovecot ${searchNumbers(dr.untagged).join(' ')}, tegami ${got.join(' ')}`,
        );
      }
    }
    expect(differences).toEqual([]);
  });

  it('finds the address however the header writes it', async () => {
    const { untagged } = await t.command(`SEARCH FROM ${ADDRESS}`);
    // Message 7 has the address as its display name only; 11 has it in To.
    expect(searchNumbers(untagged)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
