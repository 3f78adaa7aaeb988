// IMAP load for bench/imap/own-mailbox.sh: each client is its own user (bench<i>@bench.test,
// as own-seed.ts creates them) and behaves as a client that keeps no cache does.
// Modes:
//   mix    host port clients seconds password seed out.json
//     Each client logs in once and, for [seconds], runs a seeded random mix of LIST "" "*",
//     STATUS, SELECT, FETCH (FLAGS / ENVELOPE / BODYSTRUCTURE / header fields of a range,
//     BODY.PEEK[] of one message), STORE +FLAGS/-FLAGS, APPEND of a ~10 KB message and
//     EXPUNGE (of a message it APPENDed and marked \Deleted, so mailboxes keep their size).
//   logins host port clients seconds password seed out.json
//     Each client repeats: connect, LOGIN, a short session (SELECT INBOX, FETCH of the
//     flags of the newest 20 and of their envelopes), LOGOUT.
//   table  tegami.json dovecot.json
//     Prints commands/s of each and the ratio, and the mean latency per command type.
// mix/logins print "commands seconds commands/s" and write per-type latencies to out.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { ImapClient } from './imap-client.mjs';

const [mode, ...args] = process.argv.slice(2);

/** mulberry32: a small seeded generator, so a run's command sequence can be repeated. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per command type: count and total ms. */
class Timings {
  constructor() {
    this.byType = {};
  }
  add(type, ms) {
    this.byType[type] ??= { count: 0, ms: 0, all: [] };
    const t = this.byType[type];
    t.count++;
    t.ms += ms;
    if (type === 'LOGIN') t.all.push(ms);
  }
  get commands() {
    return Object.values(this.byType).reduce((sum, t) => sum + t.count, 0);
  }
}

const FOLDERS = ['INBOX', 'Sent', 'Archive', 'Drafts', 'Trash'];
const HEADER_FIELDS = 'BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID Content-Type)]';

function appendMessage(rand) {
  const line = 'Draft text written by the benchmark client, long enough to look like real mail.\r\n';
  const id = Math.floor(rand() * 1e12);
  return Buffer.from(
    `From: Bench <bench@bench.test>\r\nTo: Someone <someone@example.org>\r\nSubject: appended ${id}\r\n` +
      `Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <append-${id}@bench.test>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${line.repeat(125)}`,
  );
}

/** One persistent session of the mix: the client's view of what it has selected and APPENDed. */
async function mixClient(c, rand, deadline, timings) {
  const run = async (type, text, literal) => {
    const t = performance.now();
    const out = (await c.command(text, literal)).toString('latin1');
    timings.add(type, performance.now() - t);
    return out;
  };
  let selected;
  let exists = 0;
  const appended = new Map(FOLDERS.map((f) => [f, []])); // folder → UIDs APPENDed, not yet expunged
  const track = (out) => {
    for (const m of out.matchAll(/^\* (\d+) (EXISTS|EXPUNGE)\r$/gm)) {
      exists = m[2] === 'EXISTS' ? Number(m[1]) : exists - 1;
    }
  };
  const pick = () => (rand() < 0.5 ? 'INBOX' : FOLDERS[1 + Math.floor(rand() * (FOLDERS.length - 1))]);
  const range = (n) => {
    const from = 1 + Math.floor(rand() * Math.max(1, exists - n + 1));
    return `${from}:${Math.min(exists, from + n - 1)}`;
  };
  const select = async (folder) => {
    const out = await run('SELECT', `SELECT ${folder}`);
    selected = folder;
    exists = Number(/^\* (\d+) EXISTS/m.exec(out)[1]);
  };
  // Weights of a client that caches nothing: it re-reads lists, flags and headers often.
  const ops = [
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
  const weight = ops.reduce((s, [, w]) => s + w, 0);
  await select('INBOX');
  while (Date.now() < deadline) {
    let r = rand() * weight;
    let op = ops[0][0];
    for (const [name, w] of ops) {
      r -= w;
      if (r < 0) {
        op = name;
        break;
      }
    }
    const mine = appended.get(selected);
    // APPEND and EXPUNGE alternate closely enough that the mailboxes keep their size.
    if (op === 'EXPUNGE' && mine.length === 0) op = 'APPEND';
    else if (op === 'APPEND' && mine.length >= 3) op = 'EXPUNGE';
    if (op.startsWith('FETCH') || op === 'STORE') {
      if (exists === 0) op = 'SELECT';
    }
    switch (op) {
      case 'LIST':
        track(await run(op, 'LIST "" "*"'));
        break;
      case 'STATUS':
        track(
          await run(op, `STATUS ${FOLDERS[Math.floor(rand() * FOLDERS.length)]} (MESSAGES UNSEEN UIDNEXT)`),
        );
        break;
      case 'SELECT':
        await select(pick());
        break;
      case 'FETCH FLAGS':
        track(await run(op, `FETCH ${rand() < 0.3 ? '1:*' : range(50)} (UID FLAGS)`));
        break;
      case 'FETCH ENVELOPE':
        track(await run(op, `FETCH ${range(20)} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`));
        break;
      case 'FETCH BODYSTRUCTURE':
        track(await run(op, `FETCH ${range(20)} (UID BODYSTRUCTURE)`));
        break;
      case 'FETCH HEADER.FIELDS':
        track(await run(op, `FETCH ${range(20)} (UID ${HEADER_FIELDS})`));
        break;
      case 'FETCH BODY[]':
        track(await run(op, `FETCH ${1 + Math.floor(rand() * exists)} (UID BODY.PEEK[])`));
        break;
      case 'STORE': {
        const flag = rand() < 0.5 ? '\\Seen' : '\\Flagged';
        const sign = rand() < 0.5 ? '+' : '-';
        track(await run(op, `STORE ${1 + Math.floor(rand() * exists)} ${sign}FLAGS (${flag})`));
        break;
      }
      case 'APPEND': {
        const out = await run(op, `APPEND ${selected} (\\Seen)`, appendMessage(rand));
        track(out);
        mine.push(Number(/\[APPENDUID \d+ (\d+)\]/.exec(out)[1]));
        break;
      }
      case 'EXPUNGE':
        // Marking it is a STORE (timed as one); the EXPUNGE removes it.
        track(await run('STORE', `UID STORE ${mine.shift()} +FLAGS.SILENT (\\Deleted)`));
        track(await run(op, 'EXPUNGE'));
        break;
    }
  }
  // Then (untimed) leave the mailbox as seeded: nothing this client APPENDed stays behind.
  return async () => {
    for (const [folder, uids] of appended) {
      if (uids.length === 0) continue;
      await c.command(`SELECT ${folder}`);
      await c.command(`UID STORE ${uids.join(',')} +FLAGS.SILENT (\\Deleted)`);
      await c.command('EXPUNGE');
    }
  };
}

async function session(host, port, user, password, timings) {
  const c = await ImapClient.open(host, port);
  await c.until('* OK');
  const t = performance.now();
  await c.command(`LOGIN "${user}" "${password}"`);
  timings.add('LOGIN', performance.now() - t);
  return c;
}

async function logout(c, timings) {
  const t = performance.now();
  await c.command('LOGOUT').catch(() => undefined);
  timings?.add('LOGOUT', performance.now() - t);
  c.socket.destroy();
}

async function loginClient(host, port, user, password, deadline, timings) {
  while (Date.now() < deadline) {
    const c = await session(host, port, user, password, timings);
    const run = async (type, text) => {
      const t = performance.now();
      const out = (await c.command(text)).toString('latin1');
      timings.add(type, performance.now() - t);
      return out;
    };
    const exists = Number(/^\* (\d+) EXISTS/m.exec(await run('SELECT', 'SELECT INBOX'))[1]);
    const newest = `${Math.max(1, exists - 19)}:${exists}`;
    await run('FETCH FLAGS', `FETCH ${newest} (UID FLAGS)`);
    await run('FETCH ENVELOPE', `FETCH ${newest} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`);
    await logout(c, timings);
  }
}

if (mode === 'mix' || mode === 'logins') {
  const [host, port, clients, seconds, password, seed, out] = args;
  const users = Array.from({ length: Number(clients) }, (_, i) => `bench${i + 1}@bench.test`);
  // The mix's sessions log in first, untimed: the run measures the commands, not the
  // password hashing (the logins mode does that).
  const sessions =
    mode === 'mix'
      ? await Promise.all(users.map((u) => session(host, port, u, password, new Timings())))
      : [];
  const deadline = Date.now() + Number(seconds) * 1000;
  const timings = new Timings();
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const tidy = await Promise.all(
    users.map((user, i) =>
      mode === 'logins'
        ? loginClient(host, port, user, password, deadline, timings)
        : mixClient(sessions[i], random(Number(seed) * 1000 + i), deadline, timings),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  // The client's own CPU: on 2 cores, a single-threaded client can set the pace itself.
  const cpu = process.cpuUsage(cpu0);
  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  await Promise.all(
    sessions.map(async (c, i) => {
      await tidy[i]();
      await logout(c);
    }),
  );
  const result = {
    commands: timings.commands,
    seconds: elapsed,
    rate: timings.commands / elapsed,
    clientCpuMs,
    types: {},
  };
  for (const [type, t] of Object.entries(timings.byType)) {
    const sorted = t.all.sort((a, b) => a - b);
    result.types[type] = { count: t.count, mean: t.ms / t.count, p50: sorted[Math.floor(sorted.length / 2)] };
  }
  writeFileSync(out, JSON.stringify(result));
  console.log(`${result.commands} ${elapsed.toFixed(3)} ${result.rate.toFixed(1)} ${clientCpuMs.toFixed(0)}`);
} else if (mode === 'table') {
  const [a, b] = args.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const pad = (s, n) => String(s).padStart(n);
  console.log(
    `${'command'.padEnd(20)} ${pad('tegami ms', 10)} ${pad('dovecot ms', 10)} ${pad('ratio', 6)} ${pad('count t/d', 14)}`,
  );
  for (const type of Object.keys(a.types)) {
    const ta = a.types[type];
    const tb = b.types[type];
    if (!tb) continue;
    console.log(
      `${type.padEnd(20)} ${pad(ta.mean.toFixed(2), 10)} ${pad(tb.mean.toFixed(2), 10)} ${pad((ta.mean / tb.mean).toFixed(2), 6)} ${pad(`${ta.count}/${tb.count}`, 14)}`,
    );
  }
} else {
  console.error(
    'usage: own-load.mjs mix|logins host port clients seconds password seed out.json | table a.json b.json',
  );
  process.exit(2);
}
