import { readdirSync, readFileSync } from 'node:fs';
import {
  arcSign,
  arcVerifyIndependently,
  dkimSign,
  dkimVerifyIndependently,
  generateDkimKey,
  independentMailAuth,
  reverseDnsName,
  spfCheckIndependently,
  startTestDnsServer,
  type TestDnsRecords,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestResolver, type TestResolver } from '../services/dns-resolver/test/test-resolver.js';
import { inboundChecks } from '../services/smtp-ingress/src/inbound-setup.js';
import { ehlo, sendData } from '../services/smtp-ingress/test/smtp-client.js';
import { queueIdOf, startTestIngress, type TestIngress } from '../services/smtp-ingress/test/test-ingress.js';

// SPF, DKIM, DMARC and ARC at the end of DATA on port 25, through a real dns-resolver asking
// an authoritative test DNS server, with the verdicts in the stored message and the queue row.

// Messages are signed by an implementation independent of ours (Debian's dkimpy), and every
// verdict is cross-checked with dkimpy and pyspf on the same zone.
const independent = independentMailAuth();
const rsa = generateDkimKey('rsa');
const ed = generateDkimKey('ed25519');
const arcKey = generateDkimKey('rsa');

const zone: TestDnsRecords = {
  'pass.test': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
  '_dmarc.pass.test': { txt: ['v=DMARC1; p=reject'] },
  'rsa._domainkey.pass.test': { txt: [rsa.dnsTxt] },
  'ed._domainkey.pass.test': { txt: [ed.dnsTxt] },
  'arc._domainkey.lists.test': { txt: [arcKey.dnsTxt] },
  'forwarder.test': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
  'arc._domainkey.other-list.test': { txt: [arcKey.dnsTxt] },
  'client.pass.test': { a: ['127.0.0.1'], txt: ['v=spf1 a -all'] },
  'reject.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  '_dmarc.reject.test': { txt: ['v=DMARC1; p=reject; rua=mailto:dmarc@reject.test'] },
  'quarantine.test': { txt: ['v=spf1 -all'] },
  '_dmarc.quarantine.test': { txt: ['v=DMARC1; p=quarantine'] },
  'sampled.test': { txt: ['v=spf1 -all'] },
  '_dmarc.sampled.test': { txt: ['v=DMARC1; p=reject; pct=0'] },
  'softfail.test': { txt: ['v=spf1 ~all'] },
  'hardfail.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  'neutral.test': { txt: ['v=spf1 ?all'] },
  'nospf.test': { a: ['192.0.2.1'] },
  'broken.test': { rcode: 'SERVFAIL' },
  'silent.test': { drop: true },
  '_dmarc.silent.test': { drop: true },
  'include-broken.test': { txt: ['v=spf1 include:broken.test -all'] },
  'bad-syntax.test': { txt: ['v=spf1 ip4:not-an-address -all'] },
  // Eleven includes deep: the eleventh DNS-querying term passes RFC 7208 §4.6.4's limit of ten.
  ...Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [
      i === 0 ? 'toomany.test' : `hop${i}.toomany.test`,
      { txt: [i === 11 ? 'v=spf1 ip4:127.0.0.1 -all' : `v=spf1 include:hop${i + 1}.toomany.test -all`] },
    ]),
  ),
  // Three lookups that find nothing: more than the two void lookups §4.6.4 allows.
  'voids.test': {
    txt: ['v=spf1 a:none1.voids.test a:none2.voids.test a:none3.voids.test ip4:127.0.0.1 -all'],
  },
  'sub.parent.test': { txt: ['v=spf1 -all'] },
  '_dmarc.parent.test': { txt: ['v=DMARC1; p=none; sp=reject'] },
  [reverseDnsName('127.0.0.1')]: { ptr: ['localhost'] },
};

let dns: TestDnsServer;
let resolver: TestResolver;
let t: TestIngress;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: zone });
  resolver = await startTestResolver([dns.address]);
  const inbound = inboundChecks(
    {
      mailAuth: true,
      mailAuthTimeoutMs: 10_000,
      dmarcEnforcement: 'reject',
      arcTrustedSealers: ['lists.test'],
      rspamdTimeoutMs: 1_000,
      rspamdFailure: 'accept',
    },
    resolver.client,
    undefined,
  );
  t = await startTestIngress({ inbound, checkLoopbackClients: true });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await resolver?.stop();
  await dns?.stop();
});

interface Sent {
  readonly reply: { code: number; text: string };
  readonly stored?: Buffer;
  readonly junk?: boolean;
  readonly verdict?: Record<string, unknown>;
}

async function send(options: { helo?: string; from: string; message: string | Buffer }): Promise<Sent> {
  const client = await ehlo(t.ports.mx);
  try {
    if (options.helo) await client.command(`EHLO ${options.helo}`);
    expect((await client.command(`MAIL FROM:<${options.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@example.test>')).code).toBe(250);
    const reply = await sendBytes(client, options.message.toString('latin1'));
    if (reply.code !== 250) return { reply };
    const queueId = queueIdOf(reply.text);
    const stored = (await t.queued(queueId))?.raw;
    const row = await t.store.pool.query<{ junk: boolean; verdict: Record<string, unknown> }>(
      'SELECT junk, verdict FROM queue WHERE id = $1',
      [queueId],
    );
    return { reply, ...(stored && { stored }), junk: row.rows[0]!.junk, verdict: row.rows[0]!.verdict };
  } finally {
    client.close();
  }
}

/** DATA with the message's bytes as they are (latin1 in, latin1 out), dot-stuffed. */
async function sendBytes(client: Awaited<ReturnType<typeof ehlo>>, text: string) {
  const go = await client.command('DATA');
  if (go.code !== 354) return go;
  const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
  client.write(Buffer.from(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
  return client.readReply();
}

function message(from: string, body = 'Hello there.\r\n', extraHeaders = ''): string {
  return (
    `${extraHeaders}From: ${from}\r\nTo: bob@example.test\r\nSubject: checks\r\n` +
    `Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <${Math.random()}@pass.test>\r\n\r\n${body}`
  );
}

async function signed(raw: string, keys: { selector: 'rsa' | 'ed' }[]): Promise<string> {
  let message: Buffer = Buffer.from(raw);
  // dkimSign prepends its signature: the last key given ends up on top.
  for (const { selector } of keys) {
    message = await dkimSign(message, {
      domain: 'pass.test',
      selector,
      key: selector === 'rsa' ? rsa : ed,
      canonicalization: 'relaxed/relaxed',
    });
  }
  return message.toString('latin1');
}

/** The Authentication-Results field at the top of the stored message, unfolded. */
function authResults(stored: Buffer | undefined): string {
  const header = (stored ?? Buffer.alloc(0)).toString('latin1').split('\r\n\r\n')[0]!;
  const match = /^Authentication-Results: ([\s\S]*?)\r\n(?![ \t])/m.exec(`${header}\r\n`);
  return (match?.[1] ?? '').replace(/\r\n[ \t]+/g, ' ');
}

describe.skipIf(!independent.available)('DKIM, signed by dkimpy', () => {
  it('passes rsa-sha256 and ed25519-sha256 signatures, each listed, and DMARC with them', async () => {
    const raw = await signed(message('alice@pass.test'), [{ selector: 'ed' }, { selector: 'rsa' }]);
    const sent = await send({ from: 'alice@pass.test', helo: 'client.pass.test', message: raw });
    expect(sent.reply.code).toBe(250);
    const ar = authResults(sent.stored);
    expect(ar).toMatch(/^mx\.example\.test; /);
    expect(ar).toMatch(/dkim=pass [^;]*header\.s=rsa [^;]*header\.a=rsa-sha256/);
    expect(ar).toMatch(/dkim=pass [^;]*header\.s=ed [^;]*header\.a=ed25519-sha256/);
    expect(ar).toMatch(/spf=pass [^;]*smtp\.mailfrom=alice@pass\.test/);
    expect(ar).toMatch(/spf=pass [^;]*smtp\.helo=client\.pass\.test/);
    expect(ar).toMatch(/dmarc=pass [^;]*header\.from=pass\.test/);
    expect(sent.junk).toBe(false);
    const checked = await dkimVerifyIndependently(Buffer.from(raw, 'latin1'), zone);
    expect(checked.map((c) => [c.selector, c.result])).toEqual([
      ['rsa', 'pass'],
      ['ed', 'pass'],
    ]);
    expect(sent.verdict).toMatchObject({
      spf: 'pass',
      spfHelo: 'pass',
      dkim: [
        { domain: 'pass.test', selector: 'rsa', result: 'pass' },
        { domain: 'pass.test', selector: 'ed', result: 'pass' },
      ],
      dmarc: { result: 'pass', action: 'accept' },
      action: 'inbox',
    });
  });

  it('fails a signature when one body byte changed, and the message is still delivered (SPF aligns)', async () => {
    const raw = await signed(message('alice@pass.test', 'Pay 100 euros.\r\n'), [{ selector: 'rsa' }]);
    // The body's words, not the first '100' anywhere: a DKIM t= timestamp or b= value can hold one.
    const tampered = raw.replace('Pay 100 euros', 'Pay 900 euros');
    const sent = await send({ from: 'alice@pass.test', message: tampered });
    expect(sent.reply.code).toBe(250);
    expect((await dkimVerifyIndependently(Buffer.from(tampered, 'latin1'), zone))[0]!.result).toBe('fail');
    expect(authResults(sent.stored)).toMatch(/dkim=fail \(body hash did not verify\) [^;]*header\.s=rsa/);
    expect(authResults(sent.stored)).toMatch(/dmarc=pass/);
  });

  it('says none for an unsigned message', async () => {
    const sent = await send({ from: 'alice@pass.test', message: message('alice@pass.test') });
    expect(authResults(sent.stored)).toMatch(/dkim=none/);
  });
});

describe('DMARC', () => {
  it('refuses a spoofed From of a p=reject domain with 550 5.7.1, storing nothing', async () => {
    const before = await t.store.pool.query('SELECT count(*)::int AS n FROM queue');
    const sent = await send({ from: 'bounce@reject.test', message: message('ceo@reject.test') });
    expect(sent.reply.text).toMatch(/^550 5\.7\.1 .*DMARC.*reject\.test/);
    const after = await t.store.pool.query('SELECT count(*)::int AS n FROM queue');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('files a p=quarantine failure into Junk', async () => {
    const sent = await send({ from: 'x@quarantine.test', message: message('boss@quarantine.test') });
    expect(sent.reply.code).toBe(250);
    expect(sent.junk).toBe(true);
    expect(authResults(sent.stored)).toMatch(/dmarc=fail [^;]*header\.from=quarantine\.test/);
    expect(sent.verdict).toMatchObject({ dmarc: { action: 'quarantine', reason: 'policy' }, action: 'junk' });
  });

  it('applies pct: with pct=0 a p=reject failure is quarantined instead (RFC 7489 §6.6.4)', async () => {
    const sent = await send({ from: 'x@sampled.test', message: message('boss@sampled.test') });
    expect(sent.reply.code).toBe(250);
    expect(sent.junk).toBe(true);
    expect(sent.verdict).toMatchObject({ dmarc: { action: 'quarantine', reason: 'pct' } });
  });

  it('uses sp for a subdomain of the organizational domain', async () => {
    const sent = await send({ from: 'x@sub.parent.test', message: message('boss@sub.parent.test') });
    expect(sent.reply.text).toMatch(/^550 5\.7\.1 /);
  });
});

describe.skipIf(!independent.available)('ARC, sealed by dkimpy', () => {
  /**
   * A message from pass.test (p=reject) through a mailing list: the list verified it,
   * recorded that in its own Authentication-Results, changed the Subject (which breaks the
   * author's DKIM signature), sealed it with ARC and sends it from its own bounce address.
   */
  async function throughList(list: string): Promise<Buffer> {
    const original = await signed(message('alice@pass.test', 'To the list.\r\n'), [{ selector: 'rsa' }]);
    const modified = `Authentication-Results: ${list}; dkim=pass header.d=pass.test; spf=pass smtp.mailfrom=pass.test; dmarc=pass header.from=pass.test\r\n${original.replace('Subject: checks', `Subject: [${list}] checks`)}`;
    return arcSign(Buffer.from(modified, 'latin1'), {
      domain: list,
      selector: 'arc',
      key: arcKey,
      srvId: list,
    });
  }

  it('verifies the chain as dkimpy does, and a trusted sealer overrides the DMARC failure', async () => {
    const sealed = await throughList('lists.test');
    expect((await arcVerifyIndependently(sealed, zone)).cv).toBe('pass');
    const sent = await send({ from: 'bounce@forwarder.test', message: sealed });
    expect(sent.reply.code).toBe(250);
    const ar = authResults(sent.stored);
    expect(ar).toMatch(/arc=pass/);
    expect(ar).toMatch(/dkim=fail [^;]*header\.s=rsa/);
    expect(ar).toMatch(/dmarc=fail/);
    expect(sent.verdict).toMatchObject({
      arc: 'pass',
      dmarc: { action: 'accept', reason: 'arc' },
      action: 'inbox',
    });
    expect(sent.stored!.toString('latin1')).toMatch(/^ARC-Seal: i=1;/m);
  });

  it('does not let an untrusted sealer override DMARC: 550', async () => {
    const sealed = await throughList('other-list.test');
    const sent = await send({ from: 'bounce@forwarder.test', message: sealed });
    expect(sent.reply.text).toMatch(/^550 5\.7\.1 /);
  });

  it('fails a chain whose sealed message was changed afterwards', async () => {
    const sealed = (await throughList('lists.test'))
      .toString('latin1')
      .replace('To the list.', 'To the lost.');
    expect((await arcVerifyIndependently(Buffer.from(sealed, 'latin1'), zone)).cv).toBe('fail');
    const sent = await send({ from: 'bounce@forwarder.test', message: sealed });
    expect(sent.reply.text).toMatch(/^550 5\.7\.1 /);
  });
});

describe('SPF', () => {
  it.each([
    ['hardfail.test', 'fail'],
    ['softfail.test', 'softfail'],
    ['neutral.test', 'neutral'],
    ['nospf.test', 'none'],
    ['broken.test', 'temperror'],
    ['bad-syntax.test', 'permerror'],
    ['include-broken.test', 'temperror'],
    ['toomany.test', 'permerror'],
    ['voids.test', 'permerror'],
  ])('%s gives spf=%s as pyspf says, and the message is accepted', async (domain, result) => {
    const sent = await send({ from: `someone@${domain}`, message: message(`someone@${domain}`) });
    expect(sent.reply.code).toBe(250);
    if (independent.available) {
      const pyspf = await spfCheckIndependently(
        { ip: '127.0.0.1', sender: `someone@${domain}`, helo: 'client.example.net' },
        zone,
      );
      expect(pyspf.result).toBe(result);
    }
    expect(authResults(sent.stored)).toMatch(
      new RegExp(`spf=${result} [^;]*smtp\\.mailfrom=someone@${domain}`),
    );
    expect(sent.stored!.toString('latin1')).toMatch(
      new RegExp(`^Received-SPF: ${result} client-ip=127\\.0\\.0\\.1;`, 'm'),
    );
  });

  it('checks the HELO identity of a bounce (null reverse-path)', async () => {
    const sent = await send({
      from: '',
      helo: 'client.pass.test',
      message: message('mailer-daemon@pass.test'),
    });
    expect(sent.reply.code).toBe(250);
    expect(authResults(sent.stored)).toMatch(/spf=pass [^;]*smtp\.mailfrom=postmaster@client\.pass\.test/);
  });
});

describe('Authentication-Results', () => {
  it("removes a forged one claiming our authserv-id, keeps another host's, and leaves the rest byte-exact", async () => {
    const original = message(
      'alice@pass.test',
      'Body line one.\r\n',
      'Authentication-Results: MX.example.test; dkim=pass header.d=paypal.com\r\n' +
        'Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y\r\n',
    );
    const sent = await send({ from: 'alice@pass.test', message: original });
    const stored = sent.stored!.toString('latin1');
    expect(stored).not.toContain('paypal.com');
    expect(stored).toContain('Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y\r\n');
    const withoutForged = original.replace(/^Authentication-Results: MX[^\r]*\r\n/m, '');
    expect(stored.endsWith(withoutForged)).toBe(true);
    expect(stored.indexOf('Authentication-Results: mx.example.test;')).toBe(0);
  });

  it('counts every result in tegami_auth_results_total', async () => {
    const metric = await t.metrics.getSingleMetric('tegami_auth_results_total')!.get();
    const value = (method: string, result: string) =>
      metric.values.find((v) => v.labels.method === method && v.labels.result === result)?.value ?? 0;
    expect(value('dkim', 'pass')).toBeGreaterThanOrEqual(2);
    expect(value('dmarc', 'fail')).toBeGreaterThanOrEqual(3);
    expect(value('spf', 'temperror')).toBeGreaterThanOrEqual(1);
  });
});

describe('a DNS that does not answer', () => {
  it('gives temperror after TEGAMI_MAIL_AUTH_TIMEOUT and accepts the message, whatever the resolver waits', async () => {
    // This resolver waits 4 s per upstream try: the whole check gives up at 1 s first.
    const patient = await startTestResolver([dns.address], { timeoutMs: 4_000, attempts: 1 });
    const inbound = inboundChecks(
      {
        mailAuth: true,
        mailAuthTimeoutMs: 1_000,
        dmarcEnforcement: 'reject',
        rspamdTimeoutMs: 1_000,
        rspamdFailure: 'accept',
      },
      patient.client,
      undefined,
    );
    const slow = await startTestIngress({ inbound, checkLoopbackClients: true });
    try {
      const client = await ehlo(slow.ports.mx);
      await client.command('MAIL FROM:<someone@silent.test>');
      await client.command('RCPT TO:<bob@example.test>');
      const started = Date.now();
      const reply = await sendData(client, message('someone@silent.test'));
      const took = Date.now() - started;
      client.close();
      expect(reply.code).toBe(250);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(3_500);
      const stored = (await slow.queued(queueIdOf(reply.text)))!.raw;
      expect(authResults(stored)).toMatch(
        /spf=temperror \(checks timed out\) smtp\.mailfrom=someone@silent\.test/,
      );
    } finally {
      await slow.stop();
      await patient.stop();
    }
  }, 30_000);
});

describe('the corpus', () => {
  const CORPUS = new URL('../../shared/corpus/', import.meta.url);
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.eml'));

  it.each(files)('%s is stored byte-exact below the verdict fields and our Received', async (file) => {
    // DATA carries CRLF lines and dot-stuffing; sendData stuffs, the server unstuffs.
    const original = readFileSync(new URL(file, CORPUS)).toString('latin1').replace(/\r?\n/g, '\r\n');
    const sent = await send({ from: 'someone@softfail.test', message: original });
    expect(sent.reply.code).toBe(250);
    const stored = sent.stored!.toString('latin1');
    expect(stored.startsWith('Authentication-Results: mx.example.test;\r\n')).toBe(true);
    const received = stored.indexOf('\r\nReceived: from ');
    const afterReceived = stored.slice(received + 2).replace(/^Received: [\s\S]*?\r\n(?![ \t])/, '');
    expect(afterReceived).toBe(original.endsWith('\r\n') ? original : `${original}\r\n`);
  });
});
