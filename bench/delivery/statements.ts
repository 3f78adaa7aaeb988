// bench/delivery/statements.ts: the delivery-worker's SQL statements per delivered message,
// a deterministic figure beside run.sh's noisy rates. An in-process worker (concurrency 32,
// the bench's) on a fresh database and NATS prefix gets [messages] jobs for one local user
// at once, as after a burst of acceptances; every statement any pg client sends from the
// release of the jobs until the last message is announced in the INBOX (plus a second for
// what follows, e.g. a "done" mark) is counted, the due scan's excepted. Prints statements
// per message by kind, mailbox-change events, and this process's CPU per message.
//
// Usage: node --conditions=tegami-source --import tsx bench/delivery/statements.ts [messages]

import { findAccount } from '@tegami/store';
import { createFakeResolver } from '../../services/delivery-worker/test/fake-resolver.js';
import { DOMAIN, startTestWorker } from '../../services/delivery-worker/test/test-worker.js';

const messages = Number(process.argv[2] ?? 200);
const t = await startTestWorker(createFakeResolver(), { concurrency: 32 });
const bob = await findAccount(t.store.pool, `bob@${DOMAIN}`);
let announced = 0;
let events = 0;
t.bus.subscribeMailboxChanged(bob!.id, (event) => {
  events++;
  announced += event.uids?.length ?? 0;
});
const ids: string[] = [];
for (let i = 0; i < messages; i++) ids.push(await t.submit({ from: '', to: [`bob@${DOMAIN}`], held: true }));

// pg's Client, as the pool makes them (the root package does not depend on pg itself).
const sample = await t.store.pool.connect();
const clientProto = Object.getPrototypeOf(sample) as { query: (...args: unknown[]) => unknown };
sample.release();
const texts: string[] = [];
const query = clientProto.query;
clientProto.query = function (this: unknown, ...args: unknown[]) {
  const q = args[0] as string | { text?: string };
  texts.push(typeof q === 'string' ? q : (q?.text ?? '?'));
  return query.apply(this, args);
};
const cpu0 = process.cpuUsage();
await Promise.all(ids.map((id) => t.release(id)));
while (announced < messages) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 1000));
const cpu = process.cpuUsage(cpu0);
clientProto.query = query;

const counted = texts.filter((x) => !x.includes('GROUP BY d.queue_id'));
const kinds = new Map<string, number>();
for (const x of counted) {
  const kind = x.replace(/\s+/g, ' ').trim().slice(0, 70);
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
}
console.log(
  `messages ${messages}: statements ${counted.length} (${(counted.length / messages).toFixed(2)} per message), mailbox events ${events}, cpu-ms per message (worker + this harness) ${((cpu.user + cpu.system) / 1000 / messages).toFixed(2)}`,
);
for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1]))
  console.log(`  ${(n / messages).toFixed(2)}  ${kind}`);
await t.stop();
