import { randomBytes } from 'node:crypto';
import { dkimRecordName, dkimRecordValue, txtCharacterStrings } from '@tegami/protocol';
import { createLogger } from '@tegami/runtime';
import {
  addDomain,
  createDkimKey,
  createSecretsKeyring,
  type DkimKey,
  listLocalDomains,
  migrate,
  openStore,
  rotateDkimKeys,
  type StorePool,
} from '@tegami/store';
import {
  createTestDatabase,
  dkimVerifyIndependently,
  independentMailAuth,
  type TestDatabase,
  type TestDnsRecords,
} from '@tegami/testing';
import { dkimVerify } from 'mailauth';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimSigning } from './dkim-signing.js';

const tools = independentMailAuth();
const keyring = createSecretsKeyring([randomBytes(32)]);
let database: TestDatabase;
let store: StorePool;
const keys: DkimKey[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
  await migrate(store.pool);
  for (const domain of ['example.org', 'rotating.test', 'bare.test']) await addDomain(store.pool, domain);
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    keys.push(await createDkimKey(store.pool, keyring, { domain: 'example.org', algorithm }));
  }
}, 60_000);
afterAll(async () => {
  await store?.close();
  await database?.drop();
});

const zone = (): TestDnsRecords =>
  Object.fromEntries(
    keys.map((k) => [
      dkimRecordName(k.selector, k.domain),
      { txt: [txtCharacterStrings(dkimRecordValue(k.algorithm, k.publicKey))] },
    ]),
  );

async function mailauthResults(message: Buffer) {
  const records = zone();
  const verdict = await dkimVerify(message, {
    resolver: async (name: string) => {
      const node = records[name.toLowerCase()];
      if (!node) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return node.txt as string[][];
    },
  });
  return verdict.results.map((r) => ({
    result: r.status.result,
    domain: r.signingDomain,
    selector: r.selector,
  }));
}

function signer(
  options: { keyring?: typeof keyring | undefined; cacheMs?: number; registry?: Registry } = {},
) {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'delivery-worker',
    level: 'info',
    destination: { write: (line: string) => lines.push(line) },
  });
  const signing = dkimSigning({
    pool: store.pool,
    keyring: 'keyring' in options ? options.keyring : keyring,
    localDomains: () => listLocalDomains(store.pool),
    logger,
    metrics: options.registry,
    cacheMs: options.cacheMs,
    now: () => new Date('2025-01-14T10:00:00Z'),
  });
  return { signing, lines };
}

const message = (from: string, body = 'Lunch at noon?\r\n') =>
  Buffer.from(
    [
      `From: ${from}`,
      'To: Bob <bob@remote.test>',
      'Subject: Lunch',
      'Date: Tue, 14 Jan 2025 10:00:00 +0000',
      'Message-ID: <lunch.1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'X-Mailer: not signed',
      '',
      body,
    ].join('\r\n'),
  );

const signatures = (signed: Buffer) =>
  signed
    .toString('latin1')
    .split(/\r\n(?![ \t])/)
    .filter((line) => line.startsWith('DKIM-Signature:'))
    .map((field) => field.replace(/\r\n[ \t]+/g, ' '));

describe('DKIM signing of outgoing mail', () => {
  it('signs with both keys of the From domain: relaxed/relaxed, the fields a reader sees, From oversigned', async () => {
    const registry = new Registry();
    const { signing } = signer({ registry });
    const original = message('Alice <alice@example.org>');
    const signed = await signing.outgoing(original, 'alice@example.org');
    expect(signed.subarray(signed.length - original.length).equals(original)).toBe(true);
    const fields = signatures(signed);
    expect(fields).toHaveLength(2);
    for (const field of fields) {
      expect(field).toContain('c=relaxed/relaxed');
      expect(field).toContain('d=example.org');
      expect(field).toContain(`t=${Date.parse('2025-01-14T10:00:00Z') / 1000}`);
      const h = /h=([^;]+);/.exec(field)![1]!.replace(/\s+/g, '');
      // Present fields bottom-up, then From once more: a From added later breaks it.
      expect(h.split(':')).toEqual([
        'Content-Type',
        'MIME-Version',
        'Message-ID',
        'Date',
        'Subject',
        'To',
        'From',
        'From',
      ]);
    }
    expect(await mailauthResults(signed)).toEqual([
      { result: 'pass', domain: 'example.org', selector: keys[0]!.selector },
      { result: 'pass', domain: 'example.org', selector: keys[1]!.selector },
    ]);
    expect(fields.map((f) => /a=([^;]+);/.exec(f)?.[1])).toEqual(['rsa-sha256', 'ed25519-sha256']);
    const metrics = await registry.getSingleMetricAsString('tegami_dkim_signed_total');
    expect(metrics).toContain('tegami_dkim_signed_total{algorithm="rsa-sha256"} 1');
    expect(metrics).toContain('tegami_dkim_signed_total{algorithm="ed25519-sha256"} 1');
  });

  it.skipIf(!tools.available)(
    'passes dkimpy for both algorithms, and fails it once a second From is added',
    async () => {
      const { signing } = signer();
      const signed = await signing.outgoing(message('alice@example.org'), 'alice@example.org');
      const verdicts = await dkimVerifyIndependently(signed, zone());
      expect(verdicts.map((v) => [v.result, v.algorithm])).toEqual([
        ['pass', 'rsa-sha256'],
        ['pass', 'ed25519-sha256'],
      ]);
      const text = signed.toString('latin1');
      const at = text.indexOf('From: alice@example.org');
      const forged = Buffer.from(`${text.slice(0, at)}From: ceo@example.org\r\n${text.slice(at)}`, 'latin1');
      expect((await dkimVerifyIndependently(forged, zone())).map((v) => v.result)).toEqual(['fail', 'fail']);
    },
  );

  it('signs for the envelope sender when the From domain has no keys, and our DSNs by the host’s domain', async () => {
    const { signing } = signer();
    const forwarded = await signing.outgoing(message('someone@foreign.test'), 'alice@example.org');
    expect((await mailauthResults(forwarded)).map((r) => [r.result, r.domain])).toEqual([
      ['pass', 'example.org'],
      ['pass', 'example.org'],
    ]);
    const dsn = await signing.outgoing(message('Mail Delivery System <MAILER-DAEMON@mx.example.org>'), '');
    expect((await mailauthResults(dsn)).map((r) => r.result)).toEqual(['pass', 'pass']);
  });

  it('leaves foreign mail, SRS-forwarded mail and domains without keys unsigned, byte for byte', async () => {
    const { signing } = signer();
    for (const [from, sender] of [
      ['x@foreign.test', 'x@foreign.test'],
      ['x@foreign.test', 'SRS0=abcd=TT=foreign.test=x@example.org'],
      ['y@bare.test', 'y@bare.test'],
    ]) {
      const original = message(from!);
      expect((await signing.outgoing(original, sender!)).equals(original), `${from} ${sender}`).toBe(true);
    }
  });

  it('folds over-long lines before signing, so the signature covers what is sent', async () => {
    const { signing } = signer();
    const original = message('alice@example.org', `${'x'.repeat(1500)}\r\n`);
    const signed = await signing.outgoing(original, 'alice@example.org');
    expect(
      signed
        .toString('latin1')
        .split('\r\n')
        .every((line) => line.length <= 998),
    ).toBe(true);
    expect((await mailauthResults(signed)).map((r) => r.result)).toEqual(['pass', 'pass']);
  });

  it('signs with the new key once the cache time has passed after a rotation', async () => {
    await createDkimKey(store.pool, keyring, { domain: 'rotating.test', algorithm: 'ed25519-sha256' });
    const { signing } = signer({ cacheMs: 0 });
    const before = signatures(await signing.outgoing(message('a@rotating.test'), 'a@rotating.test'));
    const { created, retiring } = await rotateDkimKeys(store.pool, keyring, { domain: 'rotating.test' });
    const after = signatures(await signing.outgoing(message('a@rotating.test'), 'a@rotating.test'));
    expect(before[0]).toContain(`s=${retiring[0]!.selector};`);
    expect(after).toHaveLength(1);
    expect(after[0]).toContain(`s=${created[0]!.selector};`);
  });

  it('sends unsigned, logs and counts when no key opens, and never logs the key', async () => {
    const registry = new Registry();
    const stranger = createSecretsKeyring([randomBytes(32)]);
    const wrong = signer({ keyring: stranger, registry });
    const original = message('alice@example.org');
    expect((await wrong.signing.outgoing(original, 'alice@example.org')).equals(original)).toBe(true);
    expect(await registry.getSingleMetricAsString('tegami_dkim_signing_failures_total')).toContain(
      'tegami_dkim_signing_failures_total{reason="unreadable-key"} 2',
    );
    expect(wrong.lines.join('')).toMatch(/cannot open this DKIM key \(unknown-key\)/);

    const none = signer({ keyring: undefined });
    expect((await none.signing.outgoing(original, 'alice@example.org')).equals(original)).toBe(true);
    expect(none.lines.join('')).toContain('has no TEGAMI_SECRETS_KEY_FILE to open it');

    const fine = signer();
    await fine.signing.outgoing(original, 'alice@example.org');
    for (const line of [...wrong.lines, ...none.lines, ...fine.lines])
      expect(line).not.toContain('PRIVATE KEY');
  });

  it('rejects when the keys cannot be read at all, so the delivery is deferred, not sent unsigned', async () => {
    const broken = openStore({ url: database.url });
    await broken.close();
    const signing = dkimSigning({
      pool: broken.pool,
      keyring,
      localDomains: async () => ['example.org'],
      logger: createLogger({ service: 'delivery-worker', level: 'silent' }),
    });
    await expect(signing.outgoing(message('alice@example.org'), 'alice@example.org')).rejects.toThrow();
  });
});
