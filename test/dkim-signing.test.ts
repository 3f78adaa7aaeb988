import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dkimVerifyIndependently,
  freePort,
  independentMailAuth,
  runProgram,
  startTestDnsServer,
  type TestDnsRecords,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';
import {
  type OpendkimInstance,
  opendkimInstalled,
  opendkimVerdicts,
  startOpendkim,
} from './support/opendkim.js';
import { type PostfixInstance, postfixInstalled, startPostfix } from './support/postfix.js';

// Outgoing DKIM, end to end: keys made with `tegami dkim`, their records published in the
// tests' DNS server, mail submitted to Tegami and relayed to a private Postfix whose
// opendkim milter (Debian's) verifies it on arrival; dkimpy checks the bytes Postfix stored.

const BASE_ZONE: TestDnsRecords = {
  'p.test': { mx: [{ preference: 10, exchange: 'mx.p.test' }] },
  'mx.p.test': { a: ['127.0.0.11'] },
};

let dir: string;
let dns: TestDnsServer;
let opendkim: OpendkimInstance;
let postfix: PostfixInstance;
let site: MailSite;
let zone: Record<string, TestDnsRecords[string]> = { ...BASE_ZONE };

beforeAll(async () => {
  if (!postfixInstalled()) throw new Error('these tests need Postfix (apt-get install postfix) and root');
  if (!opendkimInstalled())
    throw new Error('these tests need OpenDKIM (apt-get install opendkim opendkim-tools)');
  const tools = independentMailAuth();
  if (!tools.available) throw new Error(tools.reason);
  dir = mkdtempSync(join(tmpdir(), 'tegami-dkim-e2e-'));
  const keyFile = join(dir, 'secrets.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`);
  chmodSync(keyFile, 0o600);
  const mxPort = await freePort();
  dns = await startTestDnsServer({ records: zone });
  opendkim = await startOpendkim({ dns: dns.address, authservId: 'mx.p.test' });
  postfix = startPostfix({
    domain: 'p.test',
    ip: '127.0.0.11',
    port: mxPort,
    users: ['paul'],
    relays: { 't.test': `127.0.0.12:${mxPort}` },
    milter: opendkim.milter,
  });
  site = await startMailSite({
    domain: 't.test',
    ip: '127.0.0.12',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    // `tegami dkim check` right after publishing must not see an earlier "no such name".
    env: { TEGAMI_SECRETS_KEY_FILE: keyFile, TEGAMI_DNS_NEGATIVE_TTL_MAX_MS: '0' },
  });
}, 180_000);

afterAll(async () => {
  await site?.stop();
  postfix?.stop();
  await opendkim?.stop();
  await dns?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `tegami dkim …` and returns the records it printed (name and the zone file strings). */
async function dkim(
  args: string[],
): Promise<{ stdout: string; records: { name: string; strings: string[] }[] }> {
  const run = await site.tegami(['dkim', ...args]);
  expect(run.code, `tegami dkim ${args.join(' ')}: ${run.stderr}`).toBe(0);
  const records = [...run.stdout.matchAll(/^(\S+)\. IN TXT (.+)$/gm)].map((m) => ({
    name: m[1]!,
    strings: [...m[2]!.matchAll(/"([^"]*)"/g)].map((s) => s[1]!),
  }));
  return { stdout: run.stdout, records };
}

function publish(records: readonly { name: string; strings: string[] }[]) {
  for (const record of records) zone[record.name] = { txt: [record.strings], ttl: 1 };
  dns.setRecords(zone);
}

function unpublish(name: string) {
  zone = Object.fromEntries(Object.entries(zone).filter(([n]) => n !== name));
  dns.setRecords(zone);
}

let sent = 0;
/** Submits a message from alice to paul and returns it as Postfix stored it. */
async function relayToPostfix(subject: string): Promise<string> {
  const run = await runProgram(
    'swaks',
    [
      '--server',
      `${site.ip}:${site.submissionPort}`,
      '--auth',
      'PLAIN',
      '--auth-user',
      'alice@t.test',
      '--auth-password',
      'alice-password',
      '--from',
      'alice@t.test',
      '--to',
      'paul@p.test',
      '--header',
      `Subject: ${subject}`,
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  if (run.code !== 0) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  sent++;
  const deadline = Date.now() + 30_000;
  while (postfix.maildir('paul').length < sent && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const message = postfix.maildir('paul')[sent - 1];
  if (!message) throw new Error(`nothing arrived:\n${postfix.log()}\n${site.worker().output().slice(-3000)}`);
  expect(message).toContain(`Subject: ${subject}`);
  return message;
}

const independent = async (message: string) =>
  (await dkimVerifyIndependently(Buffer.from(message.replace(/\r?\n/g, '\r\n')), zone)).map(
    (v) => `${v.result} ${v.algorithm} ${v.selector}`,
  );

describe('outgoing DKIM, verified by Postfix with opendkim and by dkimpy', () => {
  let selectors: { rsa: string; ed: string };
  let first: string;

  it('signs with rsa-sha256 and ed25519-sha256 once both keys are made; both pass', async () => {
    const rsa = await dkim(['create', 't.test']);
    const ed = await dkim(['create', 't.test', '--algorithm', 'ed25519']);
    expect(rsa.records).toHaveLength(1);
    expect(rsa.records[0]!.strings.length).toBeGreaterThan(1);
    publish([...rsa.records, ...ed.records]);
    selectors = {
      rsa: rsa.records[0]!.name.split('.')[0]!,
      ed: ed.records[0]!.name.split('.')[0]!,
    };
    const check = await site.tegami(['dkim', 'check', 't.test']);
    expect(check, check.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout.match(/ active +published$/gm)).toHaveLength(2);

    first = await relayToPostfix('signed twice');
    expect(first.match(/^DKIM-Signature:/gm)).toHaveLength(2);
    expect(opendkimVerdicts(first)).toEqual([
      `pass rsa-sha256 ${selectors.rsa}`,
      `pass ed25519-sha256 ${selectors.ed}`,
    ]);
    expect(await independent(first)).toEqual([
      `pass rsa-sha256 ${selectors.rsa}`,
      `pass ed25519-sha256 ${selectors.ed}`,
    ]);
  });

  it('after a rotation signs with the new keys, and mail of the old ones verifies during the grace period', async () => {
    const rotated = await dkim(['rotate', 't.test']);
    expect(rotated.stdout).toMatch(new RegExp(`^retiring the rsa-sha256 key ${selectors.rsa}: keep`, 'm'));
    expect(rotated.records).toHaveLength(2);
    publish(rotated.records);
    // A new worker reads the keys at once (a running one within its cache time).
    await site.workers[0]!.restart('SIGTERM');

    const second = await relayToPostfix('signed with the new keys');
    const [rsa, ed] = rotated.records.map((r) => r.name.split('.')[0]!);
    expect(opendkimVerdicts(second)).toEqual([`pass rsa-sha256 ${rsa}`, `pass ed25519-sha256 ${ed}`]);
    expect(await independent(second)).toEqual([`pass rsa-sha256 ${rsa}`, `pass ed25519-sha256 ${ed}`]);
    // The first message, signed with the keys now retiring, still verifies.
    expect(await independent(first)).toEqual([
      `pass rsa-sha256 ${selectors.rsa}`,
      `pass ed25519-sha256 ${selectors.ed}`,
    ]);
    expect(await opendkim.verifyFile(first)).toEqual([
      `pass rsa-sha256 ${selectors.rsa}`,
      `pass ed25519-sha256 ${selectors.ed}`,
    ]);
    const list = await site.tegami(['dkim', 'list', 't.test']);
    expect(list.stdout).toMatch(new RegExp(`${selectors.rsa} +rsa-sha256 +retiring until `));
  });

  it('once the old keys are deleted and their records gone, their mail no longer verifies', async () => {
    for (const selector of [selectors.rsa, selectors.ed]) {
      await dkim(['delete', 't.test', selector]);
      unpublish(`${selector}._domainkey.t.test`);
    }
    expect(await independent(first)).toEqual([
      `permerror rsa-sha256 ${selectors.rsa}`,
      `permerror ed25519-sha256 ${selectors.ed}`,
    ]);
    // opendkim: "key not found in DNS".
    expect(await opendkim.verifyFile(first)).toEqual([
      `fail rsa-sha256 ${selectors.rsa}`,
      `fail ed25519-sha256 ${selectors.ed}`,
    ]);
    const check = await site.tegami(['dkim', 'check', 't.test']);
    expect(check.code).toBe(0);
    expect(check.stdout).not.toMatch(new RegExp(`^${selectors.rsa} `, 'm'));
  });
});
