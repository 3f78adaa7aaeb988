// The IMAP engine's own CPU per command, without sockets or Postgres: one ImapSession over
// an in-memory mailbox of [messages] messages (own-shapes.ts, folders as own-seed.ts makes
// them) runs [commands] commands of own-load.mjs's mix (LIST, STATUS, SELECT, FETCH of
// flags / envelopes / bodystructures / header fields / one body, STORE, APPEND, EXPUNGE).
// It prints the CPU µs per command (process.cpuUsage, after a warm-up) and the writes the
// session asked for per command: what FETCH/LIST/STATUS encoding, the command reader and
// write batching cost, on a busy machine as well (CPU time, not wall time).
// Usage: node --conditions=tegami-source --import tsx bench/imap/engine-cpu.ts [commands] [messages] [seed]
import { ImapSession, type SaslIdentity } from '@tegami/protocol';
import { MemoryMailStore } from '@tegami/testing/memory-mail-store';
import { credentials, PASSWORD, USER } from '../../packages/protocol/src/imap/test-account.js';
import { FOLDERS, messageShapes } from './own-shapes.js';

const [commandsArg, messagesArg, seedArg] = process.argv.slice(2);
const COMMANDS = Number(commandsArg ?? 20_000);
const MESSAGES = Number(messagesArg ?? 200);
const NAMES = ['INBOX', ...FOLDERS.map(([name]) => name)];

const store = new MemoryMailStore([
  'INBOX',
  ...FOLDERS.map(([name]): [string, never] => [name, `\\${name}` as never]),
]);
const shapes = messageShapes();
let seq = 0;
for (const [folder, share] of [['INBOX', 1 - FOLDERS.reduce((s, [, f]) => s + f, 0)] as const, ...FOLDERS]) {
  for (let i = 0; i < Math.round(MESSAGES * share); i++, seq++) {
    const raw = Buffer.concat([Buffer.from(`X-Bench-Seq: ${seq}\r\n`), shapes[seq % shapes.length]!]);
    store.deliver(folder, raw, { flags: seq % 4 === 0 ? [] : ['\\Seen'] });
  }
}

let writes = 0;
let output: string[] = [];
const session = new ImapSession(
  {
    hostname: 'imap.bench.test',
    tls: 'starttls',
    plaintextAllowed: true,
    realms: () => ['example.org'],
    maxMessageSize: 50_000_000,
    maxCommandSize: 65_536,
  },
  {
    lookupCredentials: async (user) => (user.toLowerCase() === USER ? credentials() : undefined),
    openAccount: async (identity: SaslIdentity) => store.account(identity.address),
  },
  (chunk) => {
    writes++;
    output.push(typeof chunk === 'string' ? chunk : '');
  },
);

async function say(line: string | Buffer): Promise<string> {
  output = [];
  await session.receive(typeof line === 'string' ? Buffer.from(`${line}\r\n`) : line);
  return output.join('');
}

/** mulberry32, as own-load.mjs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER_FIELDS = 'BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID Content-Type)]';
const OPS: [string, number][] = [
  ['LIST', 8],
  ['STATUS', 10],
  ['SELECT', 8],
  ['FETCH FLAGS', 12],
  ['FETCH ENVELOPE', 10],
  ['FETCH BODYSTRUCTURE', 8],
  ['FETCH HEADER.FIELDS', 10],
  ['FETCH BODY[]', 10],
  ['STORE', 12],
  ['APPEND', 6],
  ['EXPUNGE', 6],
];
const WEIGHT = OPS.reduce((s, [, w]) => s + w, 0);
const line = 'Draft text written by the benchmark client, long enough to look like real mail.\r\n';
const appended = Buffer.from(
  'From: Bench <bench@bench.test>\r\nTo: Someone <someone@example.org>\r\nSubject: appended\r\n' +
    'Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
    line.repeat(125),
);

async function run(count: number, rand: () => number): Promise<number> {
  let tag = 0;
  let selected = 'INBOX';
  let exists = Number(/\* (\d+) EXISTS/.exec(await say(`s SELECT ${selected}`))![1]);
  const mine = new Map(NAMES.map((n) => [n, [] as number[]]));
  const range = (n: number) => {
    const from = 1 + Math.floor(rand() * Math.max(1, exists - n + 1));
    return `${from}:${Math.min(exists, from + n - 1)}`;
  };
  const track = (out: string) => {
    for (const m of out.matchAll(/^\* (\d+) (EXISTS|EXPUNGE)\r$/gm))
      exists = m[2] === 'EXISTS' ? Number(m[1]) : exists - 1;
    return out;
  };
  let commands = 0;
  while (commands < count) {
    let r = rand() * WEIGHT;
    let op = OPS[0]![0];
    for (const [name, w] of OPS) {
      r -= w;
      if (r < 0) {
        op = name;
        break;
      }
    }
    const uids = mine.get(selected)!;
    if (op === 'EXPUNGE' && uids.length === 0) op = 'APPEND';
    else if (op === 'APPEND' && uids.length >= 3) op = 'EXPUNGE';
    if ((op.startsWith('FETCH') || op === 'STORE') && exists === 0) op = 'SELECT';
    const t = `t${++tag}`;
    commands++;
    switch (op) {
      case 'LIST':
        track(await say(`${t} LIST "" "*"`));
        break;
      case 'STATUS':
        track(await say(`${t} STATUS ${NAMES[Math.floor(rand() * NAMES.length)]} (MESSAGES UNSEEN UIDNEXT)`));
        break;
      case 'SELECT':
        selected = rand() < 0.5 ? 'INBOX' : NAMES[1 + Math.floor(rand() * (NAMES.length - 1))]!;
        exists = Number(/\* (\d+) EXISTS/.exec(await say(`${t} SELECT ${selected}`))![1]);
        break;
      case 'FETCH FLAGS':
        track(await say(`${t} FETCH ${rand() < 0.3 ? '1:*' : range(50)} (UID FLAGS)`));
        break;
      case 'FETCH ENVELOPE':
        track(await say(`${t} FETCH ${range(20)} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`));
        break;
      case 'FETCH BODYSTRUCTURE':
        track(await say(`${t} FETCH ${range(20)} (UID BODYSTRUCTURE)`));
        break;
      case 'FETCH HEADER.FIELDS':
        track(await say(`${t} FETCH ${range(20)} (UID ${HEADER_FIELDS})`));
        break;
      case 'FETCH BODY[]':
        track(await say(`${t} FETCH ${1 + Math.floor(rand() * exists)} (UID BODY.PEEK[])`));
        break;
      case 'STORE':
        track(
          await say(
            `${t} STORE ${1 + Math.floor(rand() * exists)} ${rand() < 0.5 ? '+' : '-'}FLAGS (${rand() < 0.5 ? '\\Seen' : '\\Flagged'})`,
          ),
        );
        break;
      case 'APPEND': {
        const out = track(
          await say(
            Buffer.concat([
              Buffer.from(`${t} APPEND ${selected} (\\Seen) {${appended.length}+}\r\n`),
              appended,
              Buffer.from('\r\n'),
            ]),
          ),
        );
        uids.push(Number(/\[APPENDUID \d+ (\d+)\]/.exec(out)![1]));
        break;
      }
      case 'EXPUNGE':
        track(await say(`${t}a UID STORE ${uids.shift()} +FLAGS.SILENT (\\Deleted)`));
        track(await say(`${t} EXPUNGE`));
        commands++;
        break;
    }
    if (!output.join('').includes(`${t} OK`)) throw new Error(`${op}: ${output.join('').slice(-200)}`);
  }
  return commands;
}

await say(`l LOGIN ${USER} ${PASSWORD}`);
await run(Math.min(2_000, COMMANDS), random(999));
writes = 0;
const before = process.cpuUsage();
const done = await run(COMMANDS, random(Number(seedArg ?? 1)));
const used = process.cpuUsage(before);
console.log(
  `${done} commands: ${((used.user + used.system) / done).toFixed(1)} µs CPU per command, ${(writes / done).toFixed(2)} writes per command`,
);
