// bench/dkim-signing: what DKIM signing costs the delivery-worker per message. The
// delivery-worker's own signer (services/delivery-worker/src/dkim-signing.ts: fold long lines,
// find the signing domain, keys from its cache, mailauth's dkimSign relaxed/relaxed) signs one
// realistic message (../shared/corpus, or the file given) over and over, one message at a time
// as a delivery attempt does, for a domain with no key (the cost of looking), an rsa-sha256
// key (2048 bits), an ed25519-sha256 key, and both. Keys come from a real store, read once:
// the signer caches them, as in production. Prints messages per second and µs per message,
// the median of [runs] runs with the slowest and fastest beside it, and the CPU time per message
// (process.cpuUsage: on a shared, busy machine the wall clock also counts other tenants' work).
// For scale, the last lines time node:crypto's bare signature of 32 bytes with each key.
//
// Usage: node --conditions=tegami-source --import tsx bench/dkim-signing/run.ts [messages] [runs] [message.eml]

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@tegami/runtime';
import {
  addDomain,
  createDkimKey,
  createSecretsKeyring,
  listLocalDomains,
  migrate,
  openStore,
} from '@tegami/store';
import { createTestDatabase } from '@tegami/testing';
import { dkimSigning } from '../../services/delivery-worker/src/dkim-signing.js';

const MESSAGES = Number(process.argv[2] ?? 2000);
const RUNS = Number(process.argv[3] ?? 5);
const FILE =
  process.argv[4] ??
  fileURLToPath(new URL('../../../shared/corpus/nested-alternative-rfc822.eml', import.meta.url));
const WARM_UP = 200;

const message = readFileSync(FILE);
const database = await createTestDatabase();
const store = openStore({ url: database.url, poolSize: 4 });
await migrate(store.pool);
const keyring = createSecretsKeyring([randomBytes(32)]);
const cases = [
  { name: 'no key (unsigned)', domain: 'none.bench', algorithms: [] },
  { name: 'rsa-sha256 (2048)', domain: 'rsa.bench', algorithms: ['rsa-sha256'] },
  { name: 'ed25519-sha256', domain: 'ed.bench', algorithms: ['ed25519-sha256'] },
  { name: 'both', domain: 'both.bench', algorithms: ['rsa-sha256', 'ed25519-sha256'] },
] as const;
for (const c of cases) {
  await addDomain(store.pool, c.domain);
  for (const algorithm of c.algorithms)
    await createDkimKey(store.pool, keyring, { domain: c.domain, algorithm });
}
const localDomains = await listLocalDomains(store.pool);
const signing = dkimSigning({
  pool: store.pool,
  keyring,
  // The worker keeps the local domains for 5 s: no query per message here either.
  localDomains: async () => localDomains,
  logger: createLogger({ service: 'bench', level: 'warn' }),
  // Longer than the run: the figures are the signing, not the key reads.
  cacheMs: 3_600_000,
});

console.log(`message: ${FILE} (${message.length} bytes); ${MESSAGES} messages × ${RUNS} runs per case`);
console.log(
  '| case | messages/s (median) | µs/message (median) | runs: slowest – fastest msg/s | CPU µs/message (median) | signatures |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const c of cases) {
  const sender = `alice@${c.domain}`;
  let signatures = 0;
  for (let i = 0; i < WARM_UP; i++) {
    const out = await signing.outgoing(message, sender);
    signatures = (
      out
        .subarray(0, out.length - message.length)
        .toString('latin1')
        .match(/^DKIM-Signature:/gm) ?? []
    ).length;
  }
  if (signatures !== c.algorithms.length) throw new Error(`${c.name}: ${signatures} signatures`);
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < MESSAGES; i++) await signing.outgoing(message, sender);
    const used = process.cpuUsage(cpuStart);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(MESSAGES / seconds);
    cpu.push((used.user + used.system) / MESSAGES);
  }
  rates.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  console.log(
    `| ${c.name} | ${median.toFixed(0)} | ${(1e6 / median).toFixed(0)} | ${rates[0]!.toFixed(0)} – ${rates.at(-1)!.toFixed(0)} | ${cpu[Math.floor(cpu.length / 2)]!.toFixed(0)} | ${signatures} |`,
  );
}

for (const [name, type, count] of [
  ['rsa 2048', 'rsa', 200],
  ['ed25519', 'ed25519', 2000],
] as const) {
  const { privateKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const data = randomBytes(32);
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) sign(type === 'rsa' ? 'sha256' : null, data, privateKey);
  const used = process.cpuUsage(cpuStart);
  console.log(
    `node:crypto sign, ${name}: ${((used.user + used.system) / count).toFixed(0)} CPU µs per signature`,
  );
}

await store.close();
await database.drop();
