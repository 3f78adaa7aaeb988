import { Writable } from 'node:stream';
import { createLogger, type Logger, parseCidrList, readConfig } from '@tegami/runtime';
import { grantPopBeforeSmtp } from '@tegami/store';
import {
  freePort,
  LineClient,
  reverseDnsName,
  runProgram,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestResolver, type TestResolver } from '../services/dns-resolver/test/test-resolver.js';
import { MAX_HELO_NAMES } from '../services/smtp-ingress/src/connection-checks.js';
import { smtpSettings } from '../services/smtp-ingress/src/settings.js';
import { authPlain, SAMPLE, sendData } from '../services/smtp-ingress/test/smtp-client.js';
import {
  DOMAIN,
  startTestIngress,
  type TestIngress,
  USERS,
} from '../services/smtp-ingress/test/test-ingress.js';
import { type MailSite, startMailSite } from './support/mail-site.js';
import { REPO_ROOT } from './support/processes.js';

// Port 25's checks of who the client is (TEGAMI_SMTP_DNSBL, TEGAMI_SMTP_REQUIRE_REVERSE_DNS,
// TEGAMI_SMTP_HELO_CHECKS): smtp-ingress on real Postgres and NATS, asking a real dns-resolver
// over gRPC, which asks the test DNS server that publishes the blocklist, PTR and host records.
//
// The checks never look at a loopback client, and a test can only connect from loopback. So
// the clients come, as they do in production behind a load balancer, through the PROXY
// protocol: the trusted "balancer" 127.0.0.81 says whom it forwards for (documentation
// addresses, RFC 5737 and RFC 3849: nothing is ever sent to them). Nothing in the server is
// switched off or on for the tests; the loopback rule is tested too, from 127.0.0.82.

const ZONE = 'bl.test';
const BALANCER = '127.0.0.81';
const DIRECT = '127.0.0.82';

const LISTED = '192.0.2.2';
const CLEAN = '192.0.2.3';
/** Listed, but sends over submission (587), where no check runs. */
const LISTED_SUBMITTER = '192.0.2.5';
/** Listed, but has a POP-before-SMTP grant: a user of ours on a dial-up range. */
const LISTED_POP_USER = '192.0.2.6';
/** The blocklist never answers for it. */
const UNANSWERED = '192.0.2.14';
const NO_PTR = '192.0.2.40';
const FORGED_PTR = '192.0.2.41';
const BROKEN_PTR = '192.0.2.42';
const CLEAN_V6 = '2001:db8::43';
const LISTED_V6 = '2001:db8::44';

/** The blocklist's name for an address: the address's reverse DNS name in the list's zone. */
function listingName(address: string): string {
  return reverseDnsName(address).replace(/(in-addr|ip6)\.arpa$/, ZONE);
}

const RECORDS = {
  [listingName(LISTED)]: { a: ['127.0.0.2'], txt: [`Listed by BL, see https://bl.test/q/${LISTED}`] },
  [listingName(LISTED_SUBMITTER)]: { a: ['127.0.0.2'] },
  [listingName(LISTED_POP_USER)]: { a: ['127.0.0.11'], txt: ['Dynamic address range'] },
  [listingName(LISTED_V6)]: { a: ['127.0.0.3'], txt: ['IPv6 spam source'] },
  [listingName(UNANSWERED)]: { drop: true },
  // What every blocklist lists (RFC 5782 §5), and a loopback client of ours.
  [listingName('127.0.0.2')]: { a: ['127.0.0.2'], txt: ['test entry'] },
  [listingName(DIRECT)]: { a: ['127.0.0.2'] },

  [reverseDnsName(LISTED)]: { ptr: ['listed.client.test'] },
  'listed.client.test': { a: [LISTED] },
  [reverseDnsName(CLEAN)]: { ptr: ['clean.client.test'] },
  'clean.client.test': { a: [CLEAN] },
  [reverseDnsName(UNANSWERED)]: { ptr: ['slow.client.test'] },
  'slow.client.test': { a: [UNANSWERED] },
  [reverseDnsName(LISTED_POP_USER)]: { ptr: ['dyn-6.isp.test'] },
  'dyn-6.isp.test': { a: [LISTED_POP_USER] },
  [reverseDnsName(FORGED_PTR)]: { ptr: ['forged.client.test'] },
  'forged.client.test': { a: ['192.0.2.99'] },
  [reverseDnsName(BROKEN_PTR)]: { rcode: 'SERVFAIL' as const },
  [reverseDnsName(CLEAN_V6)]: { ptr: ['v6.client.test'] },
  'v6.client.test': { aaaa: [CLEAN_V6] },
  [reverseDnsName(LISTED_V6)]: { ptr: ['v6-listed.client.test'] },
  'v6-listed.client.test': { aaaa: [LISTED_V6] },

  'mailonly.client.test': { mx: [{ preference: 10, exchange: 'clean.client.test' }] },
  'broken.client.test': { rcode: 'SERVFAIL' as const },
};

let dns: TestDnsServer;
let resolver: TestResolver;
const logLines: Record<string, unknown>[] = [];

function capturingLogger(): Logger {
  return createLogger({
    service: 'smtp-ingress',
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    }),
  });
}

beforeAll(async () => {
  dns = await startTestDnsServer({ records: RECORDS });
  // A resolver that waits up to 10 s for the DNS server: a dropped query ends at the
  // ingress's own deadline, not the resolver's.
  resolver = await startTestResolver([dns.address], { timeoutMs: 10_000, attempts: 1 });
});

afterAll(async () => {
  await resolver?.stop();
  await dns?.stop();
});

/** A PROXY v1 header from the balancer, for a client at `source`. */
function proxyHeader(source: string, port: number): string {
  return source.includes(':')
    ? `PROXY TCP6 ${source} ::1 40000 ${port}\r\n`
    : `PROXY TCP4 ${source} 127.0.0.1 40000 ${port}\r\n`;
}

/** Connects as `source` (through the balancer, or from DIRECT when undefined) and greets. */
async function greet(
  port: number,
  source: string | undefined,
  greeting = 'EHLO clean.client.test',
): Promise<LineClient> {
  const client = await LineClient.connect(port, { localAddress: source === undefined ? DIRECT : BALANCER });
  if (source !== undefined) client.write(proxyHeader(source, port));
  expect((await client.readReply()).code).toBe(220);
  expect((await client.command(greeting)).code).toBe(250);
  return client;
}

/** MAIL from a stranger, then RCPT TO `to`: the RCPT reply. */
async function rcpt(client: LineClient, to: string) {
  expect((await client.command('MAIL FROM:<someone@sender.test>')).code).toBe(250);
  return client.command(`RCPT TO:<${to}>`);
}

describe('connection checks on (port 25)', () => {
  let t: TestIngress;
  const metric = async (check: string, result: string) =>
    (await t.metrics.getSingleMetric('tegami_smtp_connection_checks_total')!.get()).values.find(
      (v) => v.labels['check'] === check && v.labels['result'] === result,
    )?.value ?? 0;

  beforeAll(async () => {
    t = await startTestIngress({
      logger: capturingLogger(),
      proxy: { enabled: true, trusted: parseCidrList(BALANCER), timeoutMs: 5_000 },
      connectionChecks: {
        dnsblZones: [ZONE],
        requireReverseDns: true,
        heloChecks: true,
        lookupTimeoutMs: 1_500,
      },
      resolver: resolver.client,
      popBeforeSmtp: true,
    });
    await grantPopBeforeSmtp(t.store.pool, LISTED_POP_USER, 600_000);
  }, 60_000);
  afterAll(() => t?.stop());

  describe('DNSBL', () => {
    it("refuses each recipient of a listed client with 554 5.7.1 and the listing's text, and logs each", async () => {
      const listedBefore = await metric('dnsbl', 'listed');
      const client = await greet(t.ports.mx, LISTED, 'EHLO listed.client.test');
      const first = await rcpt(client, `bob@${DOMAIN}`);
      expect(first.text).toBe(
        `554 5.7.1 Service unavailable; Client host [${LISTED}] blocked using ${ZONE}; Listed by BL, see https://bl.test/q/${LISTED}`,
      );
      expect((await client.command(`RCPT TO:<alice@${DOMAIN}>`)).code).toBe(554);
      expect((await client.command('DATA')).text).toBe('554 5.5.1 Error: no valid recipients');
      client.close();
      expect(await metric('dnsbl', 'listed')).toBe(listedBefore + 1);
      const refusals = logLines.filter((l) => l['event'] === 'client_refused' && l['client'] === LISTED);
      expect(
        refusals.map((l) => [l['listener'], l['check'], l['zone'], l['code'], l['from'], l['to']]),
      ).toEqual([
        ['mx', 'dnsbl', ZONE, 554, 'someone@sender.test', `bob@${DOMAIN}`],
        ['mx', 'dnsbl', ZONE, 554, 'someone@sender.test', `alice@${DOMAIN}`],
      ]);
      // Its own event, right after the logger's fields: not one the relay/harvest jail counts.
      expect(Object.keys(refusals[0]!).slice(0, 5)).toEqual(['level', 'time', 'service', 'event', 'client']);
    });

    it('still takes mail for postmaster from a listed client (RFC 5321 §4.5.1)', async () => {
      const client = await greet(t.ports.mx, LISTED, 'EHLO listed.client.test');
      expect((await rcpt(client, `postmaster@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
      expect((await client.command('RCPT TO:<Postmaster>')).text).toBe('250 2.1.5 Ok');
      expect((await client.command(`RCPT TO:<bob@${DOMAIN}>`)).code).toBe(554);
      // postmaster@ somewhere else is still relaying.
      expect((await client.command('RCPT TO:<postmaster@elsewhere.test>')).text).toBe(
        '554 5.7.1 <postmaster@elsewhere.test>: Relay access denied',
      );
      expect((await sendData(client, SAMPLE)).text).toMatch(/^250 2\.0\.0 Ok: queued as /);
      client.close();
    });

    it('refuses a listed IPv6 client, found by its reversed nibbles', async () => {
      const client = await greet(t.ports.mx, LISTED_V6, 'EHLO v6-listed.client.test');
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe(
        `554 5.7.1 Service unavailable; Client host [${LISTED_V6}] blocked using ${ZONE}; IPv6 spam source`,
      );
      client.close();
    });

    it('accepts a client the list does not hold', async () => {
      const client = await greet(t.ports.mx, CLEAN);
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
      expect((await sendData(client, SAMPLE)).text).toMatch(/^250 2\.0\.0 Ok: queued as /);
      client.close();
      expect(dns.queryCount(listingName(CLEAN), 'A')).toBe(1);
    });

    it('lets a client through when the list does not answer before the deadline', async () => {
      const errorsBefore = await metric('dnsbl', 'error');
      const started = Date.now();
      const client = await greet(t.ports.mx, UNANSWERED, 'EHLO slow.client.test');
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
      // It waited for the lookup's deadline (1.5 s from connect), not for the resolver's 10 s.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(Date.now() - started).toBeLessThan(9_000);
      client.close();
      expect(await metric('dnsbl', 'error')).toBe(errorsBefore + 1);
    });

    it('never checks a loopback client, direct or behind the balancer, though the list has it', async () => {
      for (const source of [undefined, '127.0.0.2']) {
        const client = await greet(t.ports.mx, source, 'EHLO localhost');
        expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
        client.close();
      }
      expect(dns.queryCount(listingName(DIRECT))).toBe(0);
      expect(dns.queryCount(listingName('127.0.0.2'))).toBe(0);
      expect(dns.queryCount(reverseDnsName(DIRECT))).toBe(0);
      expect(dns.queryCount('localhost')).toBe(0);
    });

    it('never checks a client on the submission port', async () => {
      const client = await greet(t.ports.submission, LISTED_SUBMITTER, 'EHLO localhost');
      expect((await client.command('STARTTLS')).code).toBe(220);
      await client.startTls();
      expect((await client.command('EHLO localhost')).code).toBe(250);
      expect((await authPlain(client, `alice@${DOMAIN}`, USERS.alice)).code).toBe(235);
      expect((await client.command(`MAIL FROM:<alice@${DOMAIN}>`)).code).toBe(250);
      expect((await client.command(`RCPT TO:<bob@${DOMAIN}>`)).text).toBe('250 2.1.5 Ok');
      expect((await client.command('RCPT TO:<friend@elsewhere.test>')).text).toBe('250 2.1.5 Ok');
      client.close();
      expect(dns.queryCount(listingName(LISTED_SUBMITTER))).toBe(0);
      expect(dns.queryCount(reverseDnsName(LISTED_SUBMITTER))).toBe(0);
    });

    it('lets a listed client with a POP-before-SMTP grant through: it is a user of ours', async () => {
      const client = await greet(t.ports.mx, LISTED_POP_USER, 'EHLO dyn-6.isp.test');
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
      client.close();
      expect(dns.queryCount(listingName(LISTED_POP_USER), 'A')).toBe(1);
    });
  });

  describe('reverse DNS', () => {
    it.each([
      [NO_PTR, '550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.40]', 'refused'],
      [FORGED_PTR, '550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.41]', 'refused'],
      [
        BROKEN_PTR,
        '450 4.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.42]',
        'tempfail',
      ],
    ])('refuses %s: %s', async (source, answer, result) => {
      const before = await metric('reverse_dns', result);
      const client = await greet(t.ports.mx, source);
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe(answer);
      expect((await client.command(`RCPT TO:<postmaster@${DOMAIN}>`)).text).toBe('250 2.1.5 Ok');
      client.close();
      expect(await metric('reverse_dns', result)).toBe(before + 1);
      const line = logLines.findLast((l) => l['event'] === 'client_refused' && l['client'] === source);
      expect(line).toMatchObject({ check: 'reverse_dns', code: Number(answer.slice(0, 3)) });
    });

    it('accepts clients whose PTR name resolves back to them, over IPv4 and IPv6', async () => {
      for (const [source, helo] of [
        [CLEAN, 'clean.client.test'],
        [CLEAN_V6, 'v6.client.test'],
      ] as const) {
        const client = await greet(t.ports.mx, source, `EHLO ${helo}`);
        expect((await rcpt(client, `bob@${DOMAIN}`)).text, source).toBe('250 2.1.5 Ok');
        client.close();
      }
      expect(dns.queryCount(listingName(CLEAN_V6), 'A')).toBe(1);
    });
  });

  describe('HELO', () => {
    it.each([
      ['EHLO localhost', '550 5.7.1 <localhost>: Helo command rejected: need fully-qualified hostname'],
      ['HELO client_1.client.test', '550 5.7.1 <client_1.client.test>: Helo command rejected: Invalid name'],
      [
        `HELO ${CLEAN}`,
        `550 5.7.1 <${CLEAN}>: Helo command rejected: an address must be written as an address literal, in brackets`,
      ],
      ['EHLO mx.example.test', '550 5.7.1 <mx.example.test>: Helo command rejected: You are not me'],
      [`EHLO ${DOMAIN}`, `550 5.7.1 <${DOMAIN}>: Helo command rejected: You are not me`],
      ['EHLO nowhere.client.test', '550 5.7.1 <nowhere.client.test>: Helo command rejected: Host not found'],
      [
        'EHLO broken.client.test',
        '450 4.7.1 <broken.client.test>: Helo command rejected: Host not found (temporary DNS failure)',
      ],
      ['EHLO clean.client.test', '250 2.1.5 Ok'],
      ['EHLO mailonly.client.test', '250 2.1.5 Ok'],
      [`EHLO [${CLEAN}]`, '250 2.1.5 Ok'],
      ['EHLO [IPv6:2001:db8::43]', '250 2.1.5 Ok'],
    ])('%s: RCPT answered %s', async (greeting, answer) => {
      const client = await greet(t.ports.mx, CLEAN, greeting);
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe(answer);
      client.close();
      if (!answer.startsWith('250')) {
        const line = logLines.findLast((l) => l['event'] === 'client_refused' && l['check'] === 'helo');
        expect(line).toMatchObject({
          client: CLEAN,
          name: greeting.slice(5),
          code: Number(answer.slice(0, 3)),
        });
      }
    });

    it(`looks up at most ${MAX_HELO_NAMES} different names in one connection`, async () => {
      const client = await greet(t.ports.mx, CLEAN, 'EHLO clean.client.test');
      const names = Array.from({ length: MAX_HELO_NAMES }, (_, i) => `cycle${i}.client.test`);
      for (const name of names) expect((await client.command(`EHLO ${name}`)).code).toBe(250);
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe(
        `550 5.7.1 <${names.at(-1)}>: Helo command rejected: too many different names in one session`,
      );
      client.close();
      expect(dns.queryCount(names.at(-1))).toBe(0);
      expect(dns.queryCount(names.at(-2))).toBeGreaterThan(0);
    });

    it('judges a client by the name it gave last', async () => {
      const client = await greet(t.ports.mx, CLEAN, 'EHLO nowhere.client.test');
      expect((await client.command('EHLO clean.client.test')).code).toBe(250);
      expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
      client.close();
    });
  });

  it('puts a permanent refusal before a temporary one', async () => {
    // No PTR (550) and a HELO name DNS cannot resolve now (450): 550 first.
    const client = await greet(t.ports.mx, NO_PTR, 'EHLO broken.client.test');
    expect((await rcpt(client, `bob@${DOMAIN}`)).code).toBe(550);
    client.close();
  });
});

describe('connection checks by default', () => {
  let t: TestIngress;

  beforeAll(async () => {
    // The settings as main.ts reads them from an environment that sets none of them.
    const { connectionChecks } = readConfig(smtpSettings(), {}, { service: 'smtp-ingress' });
    expect(connectionChecks).toEqual({ dnsblZones: [], requireReverseDns: false, heloChecks: false });
    t = await startTestIngress({
      proxy: { enabled: true, trusted: parseCidrList(BALANCER), timeoutMs: 5_000 },
      connectionChecks,
      resolver: resolver.client,
    });
  }, 60_000);
  afterAll(() => t?.stop());

  it('are off: a listed client without reverse DNS and with a bogus HELO name gets its mail in', async () => {
    const before = dns.queries.length;
    const client = await greet(t.ports.mx, NO_PTR, 'HELO localhost');
    expect((await rcpt(client, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
    expect((await sendData(client, SAMPLE)).text).toMatch(/^250 2\.0\.0 Ok: queued as /);
    client.close();
    const again = await greet(t.ports.mx, LISTED, 'EHLO listed.client.test');
    expect((await rcpt(again, `bob@${DOMAIN}`)).text).toBe('250 2.1.5 Ok');
    again.close();
    expect(dns.queries.length).toBe(before);
  });
});

describe('connection checks in the smtp-ingress process, set by its environment', () => {
  const SITE_IP = '127.0.0.83';
  const SITE_BALANCER = '127.0.0.84';
  let site: MailSite;
  let mxPort: number;

  beforeAll(async () => {
    mxPort = await freePort();
    site = await startMailSite({
      domain: 'checks.test',
      ip: SITE_IP,
      mxPort,
      dnsUpstream: dns.address,
      users: { alice: 'alice-password' },
      env: {
        TEGAMI_SMTP_DNSBL: ZONE,
        TEGAMI_SMTP_REQUIRE_REVERSE_DNS: 'true',
        TEGAMI_SMTP_HELO_CHECKS: 'true',
        TEGAMI_PROXY_PROTOCOL: 'true',
        TEGAMI_PROXY_TRUSTED_CIDRS: `${SITE_BALANCER}/32`,
      },
    });
  }, 120_000);
  afterAll(() => site?.stop());

  /** swaks as `source`, through the balancer; its transcript. */
  async function swaks(source: string, helo: string, extra: string[] = []): Promise<string> {
    const run = await runProgram(
      'swaks',
      [
        ...['--server', SITE_IP, '--port', String(mxPort), '--local-interface', SITE_BALANCER],
        ...['--proxy-version', '1', '--proxy-family', 'TCP4', '--proxy-source', source],
        ...['--proxy-source-port', '40000', '--proxy-dest', SITE_IP, '--proxy-dest-port', String(mxPort)],
        ...['--ehlo', helo, '--from', 'someone@sender.test', '--to', 'alice@checks.test', '--timeout', '20'],
        ...extra,
      ],
      { cwd: REPO_ROOT, env: process.env, stdin: '' },
    );
    return run.stdout + run.stderr;
  }

  it('refuses a listed client with the listing text, as swaks sees it, and logs it', async () => {
    const transcript = await swaks(LISTED, 'listed.client.test', ['--quit-after', 'RCPT']);
    expect(transcript).toContain(
      `<** 554 5.7.1 Service unavailable; Client host [${LISTED}] blocked using ${ZONE}; Listed by BL, see https://bl.test/q/${LISTED}`,
    );
    const output = site.ingresses[0]!.replica.program().output();
    expect(output).toMatch(
      new RegExp(
        `"event":"client_refused","client":"${LISTED}","listener":"mx","check":"dnsbl","code":554,"zone":"${ZONE}"`,
      ),
    );
  });

  it('refuses a client without reverse DNS', async () => {
    const transcript = await swaks(NO_PTR, 'clean.client.test', ['--quit-after', 'RCPT']);
    expect(transcript).toContain(
      `<** 550 5.7.25 Client host rejected: cannot find your reverse hostname, [${NO_PTR}]`,
    );
  });

  it('delivers the mail of a client that passes every check', async () => {
    const transcript = await swaks(CLEAN, 'clean.client.test');
    expect(transcript).toMatch(/<- {2}250 2\.0\.0 Ok: queued as /);
    await site.waitForInbox('alice@checks.test', 1);
  });
});
