import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { type ImapResponse, ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// CONDSTORE and QRESYNC (RFC 7162), Tegami against Dovecot: the same scenario on both, each
// step's answer reduced to what a client acts on — the UIDs and flags of the FETCHes, whether
// they carry MODSEQ, the UIDs VANISHED (EARLIER) or not, [MODIFIED], [HIGHESTMODSEQ] — and
// compared. MODSEQ values themselves differ (each server counts its own), so each side's
// commands use the MODSEQs that side answered with, and only their order is checked.

interface Side {
  readonly name: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** A set such as 1:3,7 as its numbers. */
function numbers(set: string): number[] {
  return set.split(',').flatMap((part) => {
    const [a, b] = part.split(':').map(Number);
    const out: number[] = [];
    for (let n = Math.min(a!, b ?? a!); n <= Math.max(a!, b ?? a!); n++) out.push(n);
    return out;
  });
}

/** What a client acts on in an answer. */
function reduce(response: ImapResponse) {
  const fetches: string[] = [];
  const vanished: number[] = [];
  const earlier: number[] = [];
  let highest = false;
  let modseqs: bigint[] = [];
  for (const line of response.untagged.map((b) => b.toString('utf8').trimEnd())) {
    const earlierMatch = /^\* VANISHED \(EARLIER\) (\S+)$/.exec(line);
    const vanishedMatch = /^\* VANISHED (\S+)$/.exec(line);
    const fetch = /^\* (\d+) FETCH \((.*)\)$/.exec(line);
    if (earlierMatch) earlier.push(...numbers(earlierMatch[1]!));
    else if (vanishedMatch) vanished.push(...numbers(vanishedMatch[1]!));
    else if (/^\* OK \[HIGHESTMODSEQ \d+\]/.test(line)) highest = true;
    else if (fetch) {
      const uid = /UID (\d+)/.exec(fetch[2]!)?.[1] ?? `seq ${fetch[1]}`;
      const flags = /FLAGS \(([^)]*)\)/.exec(fetch[2]!)?.[1];
      const modseq = /MODSEQ \((\d+)\)/.exec(fetch[2]!)?.[1];
      if (modseq) modseqs.push(BigInt(modseq));
      const shown =
        flags === undefined
          ? ''
          : ` [${flags
              .split(' ')
              .filter((f) => f && f !== '\\Recent')
              .sort()
              .join(' ')}]`;
      fetches.push(`${uid}${shown}${modseq ? ' +modseq' : ''}`);
    }
  }
  modseqs = modseqs.sort((a, b) => (a < b ? -1 : 1));
  const tagged = response.tagged.trimEnd();
  const status = /^\S+ (OK|NO|BAD)/.exec(tagged)?.[1];
  const modified = /\[MODIFIED (\S+)\]/.exec(tagged)?.[1];
  return {
    status,
    fetches: fetches.sort(),
    vanished,
    earlier,
    highest: highest || /\[HIGHESTMODSEQ \d+\]/.test(tagged),
    modified: modified ? numbers(modified) : [],
    /** Not compared: each server's own numbers. */
    maxModseq: modseqs.at(-1),
  };
}

type Reduced = ReturnType<typeof reduce>;

/** The highest MODSEQ a SELECT, FETCH or tagged answer named. */
function highestOf(response: ImapResponse): bigint {
  const text = [...response.untagged.map((b) => b.toString('utf8')), response.tagged].join('');
  let best = 0n;
  for (const m of text.matchAll(/(?:HIGHESTMODSEQ |MODSEQ \()(\d+)/g))
    if (BigInt(m[1]!) > best) best = BigInt(m[1]!);
  return best;
}

function uidValidityOf(response: ImapResponse): number {
  const text = response.untagged.map((b) => b.toString('utf8')).join('');
  return Number(/UIDVALIDITY (\d+)/.exec(text)![1]);
}

/** The scenario, run on one server; each step's reduced answer under its name. */
async function scenario(side: Side): Promise<Map<string, Reduced>> {
  const steps = new Map<string, Reduced>();
  const connect = async () => {
    const client = await ImapTestClient.connect(side.port);
    await client.login(side.user, side.password);
    return client;
  };
  const [c1, c2] = [await connect(), await connect()];
  const step = async (name: string, client: ImapTestClient, command: string) => {
    const response = await client.command(command);
    steps.set(name, reduce(response));
    return response;
  };
  try {
    for (let n = 1; n <= 5; n++) {
      const raw = Buffer.from(`Subject: message ${n}\r\nFrom: a@example.org\r\n\r\nbody ${n}\r\n`);
      const { tagged } = await c2.append('INBOX', raw);
      if (!/^\S+ OK/.test(tagged)) throw new Error(`${side.name}: APPEND ${tagged}`);
    }
    await step('enable', c1, 'ENABLE QRESYNC');
    const opened = await step('select', c1, 'SELECT INBOX');
    const uidValidity = uidValidityOf(opened);
    const start = highestOf(opened);
    await step('changedsince, nothing changed', c1, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${start})`);
    await c2.command('SELECT INBOX');
    await c2.command('STORE 2 +FLAGS (\\Seen)');
    await c2.command('STORE 4 +FLAGS ($work)');
    await c2.command('STORE 5 +FLAGS (\\Deleted)');
    await c2.command('EXPUNGE');
    await step('noop sees the other session', c1, 'NOOP');
    await step('changedsince with vanished', c1, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${start} VANISHED)`);
    await step('changedsince by sequence number', c1, `FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${start})`);
    await step('search modseq', c1, `UID SEARCH MODSEQ ${start + 1n}`);
    await step('unchangedsince', c1, `STORE 1:4 (UNCHANGEDSINCE ${start}) +FLAGS (\\Flagged)`);
    await step(
      'unchangedsince, uid, silent',
      c1,
      `UID STORE 1:4 (UNCHANGEDSINCE ${start}) +FLAGS.SILENT (\\Answered)`,
    );
    const known = highestOf(await step('store with condstore on', c1, 'STORE 3 +FLAGS (\\Draft)'));
    await c1.command('LOGOUT');
    // While the client is away: a flag changes and a message goes.
    await c2.command('STORE 1 -FLAGS (\\Flagged)');
    await c2.command('STORE 3 +FLAGS (\\Deleted)');
    await c2.command('EXPUNGE');
    const c3 = await connect();
    try {
      await step('enable again', c3, 'ENABLE QRESYNC');
      await step('qresync select', c3, `SELECT INBOX (QRESYNC (${uidValidity} ${known}))`);
      await step('qresync with known uids', c3, `SELECT INBOX (QRESYNC (${uidValidity} ${known} 1:2))`);
      await step(
        'qresync with match data',
        c3,
        `SELECT INBOX (QRESYNC (${uidValidity} ${known} 1:4 (1:2 1:2)))`,
      );
      await step('qresync, another uidvalidity', c3, `SELECT INBOX (QRESYNC (${uidValidity + 1} ${known}))`);
      await step('qresync from the start', c3, `EXAMINE INBOX (QRESYNC (${uidValidity} 1))`);
      await step('vanished without uid', c3, `FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)`);
      await step('vanished without changedsince', c3, 'UID FETCH 1:* (FLAGS) (VANISHED)');
      await step('unknown fetch modifier', c3, 'UID FETCH 1:* (FLAGS) (SOMETHING 1)');
      await step('select, qresync without a modseq', c3, `SELECT INBOX (QRESYNC (${uidValidity}))`);
      await c2.command('STORE 2 +FLAGS (\\Deleted)');
      await step('live: expunge told as vanished', c3, 'SELECT INBOX');
      await c2.command('EXPUNGE');
      await step('live: vanished', c3, 'NOOP');
      await step('expunge of nothing', c3, 'EXPUNGE');
      await c3.command('STORE 1 +FLAGS.SILENT (\\Deleted)');
      await step('expunge has highestmodseq', c3, 'EXPUNGE');
      await c3.command('UID STORE 4 +FLAGS.SILENT (\\Seen)');
      await c2.command('CREATE Elsewhere');
      await step('move has highestmodseq', c3, 'UID MOVE 4 Elsewhere');
    } finally {
      await c3.close();
    }
  } finally {
    await c1.close();
    await c2.close();
  }
  return steps;
}

describe('CONDSTORE and QRESYNC against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let expected: Map<string, Reduced>;
  let got: Map<string, Reduced>;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([startDovecotImap(), startImapGatewayUnderTest('imap-condstore')]);
    expected = await scenario({ name: 'dovecot', ...dovecot });
    got = await scenario({ name: 'tegami', ...tegami });
  }, 90_000);

  afterAll(async () => {
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('answers every step as Dovecot does', () => {
    const differences: string[] = [];
    for (const [name, want] of expected) {
      const { maxModseq: _d, ...a } = want;
      const { maxModseq: _t, ...b } = got.get(name)!;
      if (JSON.stringify(a) !== JSON.stringify(b))
        differences.push(`${name}:\n  dovecot ${JSON.stringify(a)}\n  tegami  ${JSON.stringify(b)}`);
    }
    expect(differences.join('\n')).toBe('');
  });

  it('resynchronises as RFC 7162 §3.2.5 says: what vanished and what changed while away', () => {
    expect(got.get('qresync select')).toMatchObject({ earlier: [3], fetches: ['1 [] +modseq'] });
    expect(got.get('qresync with known uids')).toMatchObject({ earlier: [], fetches: ['1 [] +modseq'] });
    expect(got.get('qresync, another uidvalidity')).toMatchObject({ earlier: [], fetches: [] });
    expect(got.get('unchangedsince')).toMatchObject({ modified: [2, 4] });
    expect(got.get('live: vanished')).toMatchObject({ vanished: [2], highest: true });
    expect(got.get('expunge has highestmodseq')).toMatchObject({ vanished: [1], highest: true });
    expect(got.get('move has highestmodseq')).toMatchObject({ vanished: [4], highest: true });
    expect(got.get('changedsince with vanished')).toMatchObject({ earlier: [5] });
  });
});
