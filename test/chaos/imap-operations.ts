import { IMAP_MAILBOXES } from './accounts.js';
import type { ImapWorker } from './imap-worker.js';

// What an IMAP session of the chaos load does, one step at a time, chosen with the
// session's own seeded generator. INBOX holds SMTP mail whose exactly-once delivery is
// checked, so only flags change there; \Deleted, EXPUNGE and MOVE happen in Work only, and
// Moved is never expunged (APPENDed ids are looked for across Work and Moved).

const FLAGS = ['\\Seen', '\\Flagged', '$Chaos1', '$Chaos2'] as const;
/** Past this many messages Work is trimmed by an expunge, so it cannot grow without bound. */
const WORK_LIMIT = 60;

type Operation = 'noop' | 'idle' | 'append' | 'store' | 'status' | 'switch' | 'copy' | 'move' | 'expunge';

const WEIGHTS: readonly (readonly [Operation, number])[] = [
  ['noop', 8],
  ['idle', 8],
  ['append', 20],
  ['store', 20],
  ['status', 6],
  ['switch', 5],
  ['copy', 7],
  ['move', 7],
  ['expunge', 7],
];

/** One operation; throws ConnectionLost when the connection died (after recording). */
export async function imapStep(worker: ImapWorker): Promise<Operation> {
  if (!worker.view) {
    // The last SELECT failed (a store outage, say): try again before anything else.
    await worker.select(worker.mailbox);
    return 'switch';
  }
  const inWork = worker.view.mailbox === 'Work';
  const operation = inWork && worker.view.size > WORK_LIMIT ? 'expunge' : pickOperation(worker, inWork);
  switch (operation) {
    case 'noop':
      await worker.run('NOOP');
      break;
    case 'idle':
      await worker.idle(worker.random.int(300, 2000));
      break;
    case 'append':
      await worker.append();
      break;
    case 'store':
      await store(worker);
      break;
    case 'status': {
      const others = ['INBOX', ...IMAP_MAILBOXES].filter((name) => name !== worker.view?.mailbox);
      await worker.status(worker.random.pick(others));
      break;
    }
    case 'switch':
      await worker.select(worker.mailbox === 'INBOX' ? 'Work' : 'INBOX');
      break;
    case 'copy':
    case 'move':
      await transfer(worker, operation === 'copy' ? 'COPY' : 'MOVE');
      break;
    case 'expunge':
      await expunge(worker);
      break;
  }
  // New messages announced by EXISTS are learned outside IDLE, as a client would.
  await worker.fetchUnknown();
  return operation;
}

function pickOperation(worker: ImapWorker, inWork: boolean): Operation {
  const allowed = WEIGHTS.filter(([op]) => inWork || (op !== 'copy' && op !== 'move' && op !== 'expunge'));
  let roll = worker.random.next() * allowed.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [op, weight] of allowed) {
    roll -= weight;
    if (roll < 0) return op;
  }
  return 'noop';
}

async function store(worker: ImapWorker): Promise<void> {
  const uids = worker.view!.uids();
  if (uids.length === 0) return;
  const uid = worker.random.pick(uids);
  const sign = worker.random.chance(0.6) ? '+' : '-';
  const flag = worker.random.pick(FLAGS);
  await worker.run(`UID STORE ${uid} ${sign}FLAGS (${flag})`);
}

/** Up to three UIDs of the view whose X-Chaos-Id is known, with those ids. */
function someMessages(worker: ImapWorker, most: number): { uids: number[]; ids: string[] } {
  const view = worker.view!;
  const known = view.uids().filter((uid) => view.idOf(uid) !== undefined);
  const chosen = new Set<number>();
  const count = Math.min(known.length, worker.random.int(1, most));
  while (chosen.size < count) chosen.add(worker.random.pick(known));
  const uids = [...chosen].sort((a, b) => a - b);
  return { uids, ids: uids.map((uid) => view.idOf(uid)!) };
}

async function transfer(worker: ImapWorker, command: 'COPY' | 'MOVE'): Promise<void> {
  const { uids, ids } = someMessages(worker, 3);
  if (uids.length === 0) return;
  const to = command === 'COPY' ? 'Copies' : 'Moved';
  await worker.recorded(
    () => worker.run(`UID ${command} ${uids.join(',')} ${to}`),
    (outcome) =>
      worker.ctx.records.transfers.push({
        user: worker.user,
        command,
        from: 'Work',
        to,
        ids,
        outcome,
        at: Date.now(),
      }),
  );
}

/** UID STORE +FLAGS (\Deleted), and only after its OK, UID EXPUNGE of exactly those UIDs. */
async function expunge(worker: ImapWorker): Promise<void> {
  const big = worker.view!.size > WORK_LIMIT;
  const { uids, ids } = someMessages(worker, big ? 20 : 4);
  if (uids.length === 0) return;
  const set = uids.join(',');
  const marked = await worker.run(`UID STORE ${set} +FLAGS (\\Deleted)`);
  if (marked.status !== 'OK') return;
  await worker.recorded(
    () => worker.run(`UID EXPUNGE ${set}`),
    (outcome) =>
      worker.ctx.records.expunges.push({ user: worker.user, mailbox: 'Work', ids, outcome, at: Date.now() }),
  );
}
