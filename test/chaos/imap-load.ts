import { imapStep } from './imap-operations.js';
import { ConnectionLost } from './imap-session.js';
import { type CreatedMailboxes, ImapWorker } from './imap-worker.js';
import type { LoadContext } from './records.js';
import type { RunningLoad } from './running-load.js';

// The chaos run's IMAP load (issue 21 §1): `sessionsPerUser` sessions per user, each on a
// gateway picked at random at every connect, doing random operations until the run stops.
// A lost connection is expected (gateways are killed, Postgres restarts): the in-flight
// request is recorded `unknown` and the session reconnects. At the end every session
// reports the view it built from untagged responses, for comparison with the store.

/** How long finish() keeps trying to reach a gateway for a session's final view. */
const FINISH_DEADLINE_MS = 120_000;

export function startImapLoad(
  ctx: LoadContext,
  options: { users: readonly string[]; sessionsPerUser: number },
): RunningLoad {
  const created: CreatedMailboxes = new Set();
  const workers: ImapWorker[] = [];
  for (const user of options.users) {
    for (let i = 0; i < options.sessionsPerUser; i++) {
      const label = `imap-${user.split('@')[0]}-${i}`;
      workers.push(new ImapWorker(ctx, user, label, ctx.random.fork(label), created));
    }
  }
  const loops = workers.map((worker) =>
    runSession(ctx, worker).catch((error: unknown) =>
      ctx.log(`imap ${worker.label}: loop failed: ${String(error)}`),
    ),
  );
  const quiet = Promise.all(loops).then(() => undefined);
  return {
    quiet: () => quiet,
    async finish() {
      await quiet;
      await Promise.all(workers.map((worker) => finishSession(ctx, worker)));
      const total = workers.reduce(
        (sum, w) => ({
          connects: sum.connects + w.counts.connects,
          lost: sum.lost + w.counts.lost,
          commands: sum.commands + w.counts.commands,
          refused: sum.refused + w.counts.refused,
        }),
        { connects: 0, lost: 0, commands: 0, refused: 0 },
      );
      ctx.log(
        `imap load: ${workers.length} sessions, ${total.commands} commands, ${total.refused} NO/BAD, ` +
          `${total.connects} connects, ${total.lost} lost, ${workers.reduce((n, w) => n + w.oddities.length, 0)} oddities`,
      );
      const refusals = workers.flatMap((w) => w.refusals.map((r) => `${w.label}: ${r}`));
      if (refusals.length > 0) ctx.log(`imap load: first refusals: ${refusals.slice(0, 10).join(' | ')}`);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runSession(ctx: LoadContext, worker: ImapWorker): Promise<void> {
  while (!ctx.stopping()) {
    try {
      if (!worker.connection || worker.connection.closed) {
        worker.drop();
        await worker.open();
      }
      await imapStep(worker);
      await sleep(worker.random.int(10, 150));
    } catch (error) {
      if (error instanceof ConnectionLost) worker.counts.lost++;
      else ctx.log(`imap ${worker.label}: ${String(error)}`);
      worker.drop();
      await sleep(worker.random.int(200, 1000));
    }
  }
}

/** NOOP until the view is complete, report it, LOGOUT: reconnecting first if need be. */
async function finishSession(ctx: LoadContext, worker: ImapWorker): Promise<void> {
  const deadline = Date.now() + FINISH_DEADLINE_MS;
  for (;;) {
    try {
      if (!worker.connection || worker.connection.closed || !worker.view) {
        worker.drop();
        await worker.open();
        if (!worker.view) throw new ConnectionLost(`SELECT ${worker.mailbox} refused`);
      }
      for (let round = 0; ; round++) {
        const answer = await worker.run('NOOP');
        if (answer.status !== 'OK') throw new ConnectionLost(`NOOP ${answer.status} ${answer.text}`);
        if (!worker.view?.unknownRange()) break;
        if (round >= 5) throw new Error('view still has unknown messages after 5 rounds of NOOP and FETCH');
        await worker.fetchUnknown();
      }
      ctx.records.views.push(worker.view!.snapshot(worker.user, Date.now()));
      await worker.run('LOGOUT').catch(() => undefined);
      worker.drop();
      return;
    } catch (error) {
      worker.drop();
      if (Date.now() > deadline) {
        ctx.log(`imap ${worker.label}: no final view: ${String(error)}`);
        return;
      }
      await sleep(worker.random.int(200, 1000));
    }
  }
}
