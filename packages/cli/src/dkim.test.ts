import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ResolverImplementation,
  type ResolverServerHandle,
  ResolveStatus,
  ResolveTxtResponse,
  startResolverServer,
} from '@tegami/rpc';
import { addDomain, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

// `tegami dkim …` against a database of its own, with TXT answers from a resolver of the
// test's (the dns-resolver's gRPC contract, answered from `zone`).

let database: TestDatabase;
let store: StorePool;
let resolver: ResolverServerHandle;
const dir = mkdtempSync(join(tmpdir(), 'tegami-dkim-cli-'));
const keyFile = join(dir, 'secrets.key');
const zone = new Map<string, string[][] | 'SERVFAIL'>();

const implementation: ResolverImplementation = {
  resolveTxt: async ({ name }) => {
    const answer = zone.get(name.toLowerCase());
    if (answer === 'SERVFAIL')
      return ResolveTxtResponse.create({ status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, detail: 'upstream' });
    if (!answer) return ResolveTxtResponse.create({ status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN });
    return ResolveTxtResponse.create({
      status: ResolveStatus.RESOLVE_STATUS_OK,
      records: answer.map((strings) => ({ strings, ttlSeconds: 300 })),
    });
  },
  resolveMx: () => Promise.reject(new Error('not used')),
  resolveAddresses: () => Promise.reject(new Error('not used')),
  resolvePtr: () => Promise.reject(new Error('not used')),
  resolveTlsa: () => Promise.reject(new Error('not used')),
};

const tegami = (args: readonly string[], settings: { keyFile?: string | undefined; target?: string } = {}) =>
  runCliInProcess(args, {
    databaseUrl: database.url,
    secretsKeyFile: 'keyFile' in settings ? settings.keyFile : keyFile,
    resolverTarget: settings.target ?? `127.0.0.1:${resolver.port}`,
  });

/** What create and rotate print: the record's name and value, and the zone file line. */
function printedRecords(stdout: string): { name: string; value: string; zoneLine: string }[] {
  const lines = stdout.split('\n');
  const records = [];
  for (let i = 0; i < lines.length; i++) {
    const name = /^ {2}name: {2}(\S+)$/.exec(lines[i]!)?.[1];
    if (!name) continue;
    const value = /^ {2}value: (.+)$/.exec(lines[i + 1]!)![1]!;
    records.push({ name, value, zoneLine: lines[i + 3]! });
  }
  return records;
}

function publish(record: { name: string; value: string }) {
  zone.set(record.name, [[record.value.slice(0, 255), record.value.slice(255)].filter((s) => s !== '')]);
}

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
  await migrate(store.pool);
  await addDomain(store.pool, 'cli.test');
  await addDomain(store.pool, 'other.test');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  resolver = await startResolverServer({ host: '127.0.0.1', port: 0, implementation });
});
afterAll(async () => {
  await resolver?.stop();
  await store?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('tegami dkim', () => {
  it('refuses to create a key without a secrets key to seal it with', async () => {
    const run = await tegami(['dkim', 'create', 'cli.test'], { keyFile: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tegami: no secrets key to seal the private key with: set TEGAMI_SECRETS_KEY_FILE/,
    );
    expect((await tegami(['dkim', 'list'])).stdout).toBe('(none)\n');
  });

  it('creates keys and prints their TXT records: name, value, and a zone file line of 255-octet strings', async () => {
    const rsa = await tegami(['dkim', 'create', 'CLI.test']);
    expect(rsa).toMatchObject({ code: 0, stderr: '' });
    expect(rsa.stdout).toMatch(
      /^created the rsa-sha256 key rsa-\d{8} of cli\.test: it signs the domain's mail from now on\n/,
    );
    const [record] = printedRecords(rsa.stdout);
    expect(record!.name).toMatch(/^rsa-\d{8}\._domainkey\.cli\.test$/);
    expect(record!.value).toMatch(/^v=DKIM1; k=rsa; p=MIIB[A-Za-z0-9+/=]+$/);
    const strings = [...record!.zoneLine.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(record!.zoneLine.startsWith(`${record!.name}. IN TXT "`)).toBe(true);
    expect(strings.join('')).toBe(record!.value);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.length).toBeGreaterThan(1);

    const ed = await tegami(['dkim', 'create', 'cli.test', '--algorithm=ed25519', '--selector', 'Ed1']);
    expect(ed.code).toBe(0);
    expect(printedRecords(ed.stdout)).toEqual([
      expect.objectContaining({
        name: 'ed1._domainkey.cli.test',
        value: expect.stringMatching(/^v=DKIM1; k=ed25519; p=\S{44}$/),
      }),
    ]);

    const again = await tegami(['dkim', 'create', 'cli.test']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /already signs with rsa-sha256 \(selector rsa-\d{8}\): use tegami dkim rotate/,
    );
  });

  it('checks each record: missing, published, different, failed; exit 1 while an active key is not published', async () => {
    const missing = await tegami(['dkim', 'check', 'cli.test']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^SELECTOR\s+ALGORITHM\s+STATE\s+DNS\n/);
    expect(missing.stdout).toMatch(
      /ed1\s+ed25519-sha256\s+active\s+missing: publish the record that create or rotate printed/,
    );
    expect(missing.stderr).toContain('2 active keys are not published as they should be');

    const list = await tegami(['dkim', 'list', 'cli.test']);
    const names = list.stdout
      .split('\n')
      .slice(1, -1)
      .map((line) => line.split(/\s+/).at(-1)!);
    const selectors = list.stdout
      .split('\n')
      .slice(1, -1)
      .map((line) => line.split(/\s+/)[1]!);
    expect(names).toEqual(selectors.map((s) => `${s}._domainkey.cli.test`));
    // Published from what create printed (the test DNS holds the values as given).
    const { listDkimKeys } = await import('@tegami/store');
    const { dkimRecordValue } = await import('@tegami/protocol/dkim');
    for (const key of await listDkimKeys(store.pool, 'cli.test')) {
      publish({
        name: `${key.selector}._domainkey.cli.test`,
        value: dkimRecordValue(key.algorithm, key.publicKey),
      });
    }
    const published = await tegami(['dkim', 'check', 'cli.test']);
    expect(published).toMatchObject({ code: 0, stderr: '' });
    expect(published.stdout.match(/ published\n/g)).toHaveLength(2);
    // Beside the keys: SPF, DMARC, MTA-STS and TLS-RPT, with what to publish where missing.
    expect(published.stdout).toMatch(/^RECORD\s+NAME\s+STATUS\s+DETAIL$/m);
    expect(published.stdout).toMatch(/^SPF\s+cli\.test\s+missing\s+no v=spf1 record$/m);
    expect(published.stdout).toContain(
      'publish: _dmarc.cli.test. TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@cli.test"',
    );
    zone.set('cli.test', [['v=spf1 mx ', '-all'], ['unrelated']]);
    zone.set('_dmarc.cli.test', [['v=DMARC1; p=reject; rua=mailto:d@cli.test']]);
    zone.set('_smtp._tls.cli.test', [['v=TLSRPTv1; rua=mailto:tls@cli.test']]);
    const others = await tegami(['dkim', 'check', 'cli.test']);
    expect(others).toMatchObject({ code: 0, stderr: '' });
    expect(others.stdout).toMatch(/^SPF\s+cli\.test\s+ok\s+"v=spf1 mx -all"$/m);
    expect(others.stdout).toMatch(/^DMARC\s+_dmarc\.cli\.test\s+ok\s/m);
    expect(others.stdout).toMatch(/^TLS-RPT\s+_smtp\._tls\.cli\.test\s+ok\s/m);
    // Two SPF records: every receiver's permerror, so the check fails.
    zone.set('cli.test', [['v=spf1 mx -all'], ['v=spf1 a -all']]);
    const twoSpf = await tegami(['dkim', 'check', 'cli.test']);
    expect(twoSpf.code).toBe(1);
    expect(twoSpf.stderr).toContain('SPF of cli.test is invalid');
    zone.delete('cli.test');

    zone.set('ed1._domainkey.cli.test', [
      ['v=DKIM1; k=ed25519; p=', 'AAAAC3NzaC1lZDI1NTE5AAAAIDoesNotMatchThisKeyAtAll00000000'],
    ]);
    const different = await tegami(['dkim', 'check', 'cli.test']);
    expect(different.code).toBe(1);
    expect(different.stdout).toMatch(
      /ed1\s+ed25519-sha256\s+active\s+different key: another public key \(p=\)/,
    );

    zone.set('ed1._domainkey.cli.test', 'SERVFAIL');
    expect((await tegami(['dkim', 'check', 'cli.test'])).stdout).toMatch(
      /ed1 .* lookup failed: RESOLVE_STATUS_SERVFAIL upstream/,
    );

    const none = await tegami(['dkim', 'check', 'other.test']);
    expect(none).toMatchObject({
      code: 1,
      stderr: 'tegami: other.test has no DKIM key: make one with tegami dkim create\n',
    });
  });

  it('rotates: prints the new record and how long to keep the old one, and check stops minding a retiring key', async () => {
    const run = await tegami([
      'dkim',
      'rotate',
      'cli.test',
      '--algorithm',
      'ed25519',
      '--selector',
      'ed2',
      '--grace',
      '2d',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^retiring the ed25519-sha256 key ed1: keep ed1\._domainkey\.cli\.test published until \d{4}-\d\d-\d\dT\d\d:\d\dZ, then tegami dkim delete cli\.test ed1\ncreated the ed25519-sha256 key ed2: it signs cli\.test's mail from now on\n/,
    );
    const [record] = printedRecords(run.stdout);
    expect(record!.name).toBe('ed2._domainkey.cli.test');
    publish(record!);
    zone.delete('ed1._domainkey.cli.test');
    const check = await tegami(['dkim', 'check', 'cli.test']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      /ed1\s+ed25519-sha256\s+retiring\s+missing \(mail it signed no longer verifies\)/,
    );
    expect(check.stdout).toMatch(/ed2\s+ed25519-sha256\s+active\s+published/);
    expect((await tegami(['dkim', 'list'])).stdout).toMatch(
      /cli\.test\s+ed1\s+ed25519-sha256\s+retiring until \d{4}-/,
    );
  });

  it('deletes a key, and warns when it still signed or was in its grace period', async () => {
    const retiring = await tegami(['dkim', 'delete', 'cli.test', 'ed1']);
    expect(retiring.code).toBe(0);
    expect(retiring.stdout).toBe(
      'deleted the ed25519-sha256 key ed1 of cli.test: remove the TXT record ed1._domainkey.cli.test\n',
    );
    expect(retiring.stderr).toMatch(
      /^tegami: its grace period ran until .*: mail it signed lately fails to verify/,
    );
    const active = await tegami(['dkim', 'delete', 'cli.test', 'ed2']);
    expect(active.stderr).toBe(
      "tegami: cli.test's mail is no longer signed with ed25519-sha256 (within a minute)\n",
    );
    expect(await tegami(['dkim', 'delete', 'cli.test', 'ed2'])).toMatchObject({
      code: 1,
      stderr: 'tegami: cli.test has no DKIM key with selector ed2\n',
    });
  });

  it('answers a bad algorithm, grace or missing value as a usage error (exit 2)', async () => {
    for (const [args, problem] of [
      [['dkim', 'create', 'cli.test', '--algorithm', 'dsa'], '--algorithm is rsa or ed25519, not "dsa"'],
      [
        ['dkim', 'rotate', 'cli.test', '--grace', '5'],
        '--grace is a duration of at most 366d, like 7d or 48h, not "5"',
      ],
      [
        ['dkim', 'rotate', 'cli.test', '--grace', '999d'],
        '--grace is a duration of at most 366d, like 7d or 48h, not "999d"',
      ],
      [['dkim', 'create', 'cli.test', '--selector'], '--selector needs a value'],
    ] as const) {
      const run = await tegami(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0]).toBe(`tegami: ${args[0]} ${args[1]}: ${problem}`);
    }
  });

  it("asks this machine's resolver, and says so, when the dns-resolver does not answer", async () => {
    const run = await tegami(['dkim', 'check', 'cli.test'], { target: '127.0.0.1:1' });
    expect(run.stderr).toMatch(
      /^tegami: the dns-resolver at 127\.0\.0\.1:1 did not answer \(.*\): looked up through this machine's resolver \(.*\) instead\n/,
    );
    expect(run.stdout).toMatch(/^SELECTOR/);
  }, 60_000);
});
