// Samples "accepted delivered" for one system while its load runs, then until `target`
// messages are delivered; prints "seconds-to-send seconds-to-deliver" (from `start`).
//
// One long-lived process with one database connection, so the sampling itself stays cheap:
// a psql per sample cost about 90 ms of CPU (fork, exec, connect, a new backend), some 17 %
// of this 2-core machine at four samples a second, taken from Tegami's run only. Postfix's
// side reads its log and maildir the same way each time (only the log's new bytes).
//
// Usage: node sampler.mjs tegami <database-url> <target> <samples-file> <sender-pid> <start-epoch-s>
//        node sampler.mjs postfix <work-dir> <target> <samples-file> <sender-pid> <start-epoch-s>
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const [kind, where, targetArg, samplesFile, senderArg, startArg] = process.argv.slice(2);
const target = Number(targetArg);
const senderPid = Number(senderArg);
const start = Number(startArg);
const out = fs.openSync(samplesFile, 'w');

const counts = kind === 'tegami' ? await tegamiCounts(where) : postfixCounts(where);
const elapsed = () => Date.now() / 1000 - start;
const sample = async () => {
  const [accepted, delivered] = await counts.read();
  fs.writeSync(out, `${elapsed().toFixed(3)} ${accepted} ${delivered}\n`);
  return delivered;
};

while (senderAlive()) {
  await sample();
  await sleep(250);
}
const sentAt = elapsed();
for (;;) {
  if ((await sample()) >= target) break;
  await sleep(100);
}
process.stdout.write(`${sentAt.toFixed(3)} ${elapsed().toFixed(3)}\n`);
await counts.close();

function senderAlive() {
  try {
    process.kill(senderPid, 0);
    return true;
  } catch {
    return false;
  }
}

async function tegamiCounts(url) {
  const pg = createRequire(new URL('../../packages/store/package.json', import.meta.url))('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async read() {
      const r = await client.query(`SELECT (SELECT count(*) FROM queue WHERE state <> 'accepting') AS a,
                                           (SELECT count(*) FROM deliveries WHERE status = 'delivered') AS d`);
      return [Number(r.rows[0].a), Number(r.rows[0].d)];
    },
    close: () => client.end(),
  };
}

function postfixCounts(work) {
  // Accepted: cleanup(8) logs one message-id= line per message it queued.
  const log = `${work}/postfix.log`;
  const maildir = `${work}/mail/bench.test/bob/new`;
  let offset = 0;
  let accepted = 0;
  let partial = '';
  return {
    async read() {
      try {
        const fd = fs.openSync(log, 'r');
        const size = fs.fstatSync(fd).size;
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          offset = size;
          const lines = (partial + buf.toString('latin1')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (/postfix\/cleanup.*message-id=/.test(line)) accepted++;
        }
        fs.closeSync(fd);
      } catch {}
      let delivered = 0;
      try {
        delivered = fs.readdirSync(maildir).length;
      } catch {}
      return [accepted, delivered];
    },
    close: async () => undefined,
  };
}
