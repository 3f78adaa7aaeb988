// What running a typical Sieve script costs per delivered message, and the same script in
// Pigeonhole, side by side. Tegami: the script compiled once (as the delivery-worker caches
// it), then runSieve on each message (CPU time of this process, after a warm-up). Pigeonhole:
// `sieve-filter` (its mailbox filter tool, simulation mode: evaluates and prints the actions,
// performs none) over a maildir of the same messages, one process for all of them: its CPU
// time includes reading each message file and printing the actions, ours includes neither,
// so the ratio favours Tegami a little; both exclude delivery itself.
//
// Usage: node --conditions=tegami-source --import tsx bench/sieve/script-cost.ts [messages] [rounds] [script]
//   messages: how many (default 20000: /usr/bin/time counts Pigeonhole's CPU in 10 ms steps): the shared corpus plus generated mail of the kinds
//   the typical script sorts (lists, invoices, the boss, newsletters, plain mail).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSieve, runSieve, type SieveInput } from '@tegami/protocol';

const [messagesArg, roundsArg, scriptArg] = process.argv.slice(2);
const MESSAGES = Number(messagesArg ?? 20_000);
const ROUNDS = Number(roundsArg ?? 5);
const scriptPath = scriptArg ?? new URL('./typical.sieve', import.meta.url).pathname;
const script = readFileSync(scriptPath, 'utf8');

const corpusDir = new URL('../../../shared/corpus/', import.meta.url).pathname;
const corpus = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => readFileSync(join(corpusDir, f)));

function generated(i: number): Buffer {
  const kinds = [
    [
      'From: dev-bot@lists.example.org',
      'List-Id: Developers <dev.lists.example.org>',
      'Subject: [dev] build #' + i,
    ],
    ['From: Boss <boss@example.com>', 'Subject: quarterly numbers'],
    ['From: billing@billing.example.net', `Subject: Your invoice ${i}`],
    ['From: news@shop.example', 'List-Unsubscribe: <mailto:unsub@shop.example>', 'Subject: offers'],
    ['From: friend@example.org', 'Subject: lunch?'],
    ['From: friend@example.org', 'Subject: re: lunch?'],
  ];
  const headers = kinds[i % kinds.length]!;
  const body =
    i % 10 === 3 ? 'x'.repeat(60_000) : `Hello,\r\nthis is message ${i}.${i % 7 === 0 ? ' URGENT' : ''}\r\n`;
  return Buffer.from(
    [
      'Return-Path: <sender@example.org>',
      `Delivered-To: bob@bench.test`,
      ...headers,
      'To: bob@bench.test',
      `Message-ID: <${i}@bench.test>`,
      'Date: Fri, 04 Dec 2026 10:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
    ].join('\r\n'),
  );
}

const messages = Array.from({ length: MESSAGES }, (_, i) =>
  i % 10 === 9 ? corpus[i % corpus.length]! : generated(i),
);

// ---- Tegami
const compiled = compileSieve(script);
const input = (message: Buffer): SieveInput => ({
  message,
  // sieve-filter has no envelope (its envelope tests see none): the same plain recipient
  // here, so both must file the same messages into the same folders (checked below).
  envelope: { from: 'sender@example.org', to: 'bob@bench.test' },
  environment: { name: 'Tegami', location: 'MDA', phase: 'during', domain: 'bench.test', host: 'bench.test' },
  now: new Date(),
  ownAddresses: ['bob@bench.test'],
});
const tally = new Map<string, number>();
for (const m of messages) {
  const result = runSieve(compiled, input(m));
  if (result.error) throw result.error;
  const key = result.actions
    .map((a) => (a.type === 'fileinto' ? `fileinto ${a.mailbox}` : a.type))
    .join(', ');
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
let best = Number.POSITIVE_INFINITY;
for (let r = 0; r < ROUNDS; r++) {
  const start = process.cpuUsage();
  for (const m of messages) runSieve(compiled, input(m));
  const used = process.cpuUsage(start);
  best = Math.min(best, (used.user + used.system) / messages.length);
}
const compileStart = process.cpuUsage();
for (let i = 0; i < 200; i++) compileSieve(script);
const compileUsed = process.cpuUsage(compileStart);

console.log(`messages: ${messages.length}, rounds: ${ROUNDS}, script: ${scriptPath}`);
console.log('actions taken (Tegami):');
for (const [k, n] of [...tally].sort((a, b) => b[1] - a[1]))
  console.log(`  ${n.toString().padStart(6)}  ${k}`);
console.log(`Tegami runSieve: ${best.toFixed(1)} µs CPU per message (best of ${ROUNDS} rounds)`);
console.log(
  `Tegami compileSieve: ${((compileUsed.user + compileUsed.system) / 200).toFixed(1)} µs CPU per compile`,
);

// ---- Pigeonhole's sieve-filter over a maildir of the same messages.
if (spawnSync('sh', ['-c', 'command -v sieve-filter']).status !== 0) {
  console.log('Pigeonhole: sieve-filter not installed (apt-get install dovecot-sieve): no comparison');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'tegami-bench-sieve-'));
try {
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'mail', sub), { recursive: true });
  for (const [i, m] of messages.entries()) writeFileSync(join(dir, 'mail', 'cur', `${i}.bench:2,`), m);
  writeFileSync(join(dir, 'script.sieve'), script);
  writeFileSync(
    join(dir, 'dovecot.conf'),
    [
      'mail_uid = nobody',
      'first_valid_uid = 0',
      'mail_gid = nogroup',
      `mail_location = maildir:${dir}/mail`,
      `base_dir = ${dir}/run`,
      'log_path = /dev/stderr',
      'protocols =',
      '',
    ].join('\n'),
  );
  execFileSync('chmod', ['-R', 'a+rwX', dir]);
  chmodSync(dir, 0o777);
  const run = () => {
    const t = process.hrtime.bigint();
    const out = spawnSync(
      'sh',
      [
        '-c',
        `/usr/bin/time -f '%U %S' sieve-filter -c ${dir}/dovecot.conf ${dir}/script.sieve INBOX 2>&1 >/dev/null | tail -1`,
      ],
      { encoding: 'utf8' },
    );
    const wall = Number(process.hrtime.bigint() - t) / 1e6;
    const [user, sys] = out.stdout.trim().split(/\s+/).map(Number);
    return { cpuUs: ((user ?? Number.NaN) + (sys ?? Number.NaN)) * 1e6, wall };
  };
  // Check once that it agrees on what the script does (the count of messages it files away).
  const check = spawnSync('sieve-filter', ['-c', `${dir}/dovecot.conf`, `${dir}/script.sieve`, 'INBOX'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const folders = new Map<string, number>();
  for (const m of check.stdout.matchAll(/store message in folder: (.+)/g))
    folders.set(m[1]!, (folders.get(m[1]!) ?? 0) + 1);
  console.log('Pigeonhole stores (per folder):', Object.fromEntries(folders));
  for (const [key, n] of tally) {
    const folder = key === 'keep' ? 'INBOX' : key.replace(/^fileinto /, '');
    if (folders.get(folder) !== n)
      console.log(`MISMATCH: Tegami ${key} ${n}, Pigeonhole ${folders.get(folder) ?? 0}`);
  }
  let pBest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) pBest = Math.min(pBest, run().cpuUs / messages.length);
  console.log(
    `Pigeonhole sieve-filter: ${pBest.toFixed(1)} µs CPU per message (best of ${ROUNDS}; includes reading the maildir and process start)`,
  );
  console.log(
    `ratio Pigeonhole/Tegami: ${(pBest / best).toFixed(2)} (above 1: Tegami spends less CPU per message)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
