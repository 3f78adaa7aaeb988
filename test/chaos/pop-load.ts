import { chaosIdOf } from './accounts.js';
import type { Random } from './random.js';
import type { LoadContext, Outcome, PopSessionRecord } from './records.js';
import type { RunningLoad } from './running-load.js';
import { pause, REPLY_TIMEOUT_MS, Wire, WireLost } from './wire.js';

// One POP3 client per user, one session after another: log in, list, retrieve a few,
// delete some of those, and mostly QUIT (the UPDATE state, RFC 1939 §6, where deletions
// take effect), sometimes just drop the connection (deletions must then not happen).

export function startPopLoad(ctx: LoadContext, options: { users: readonly string[] }): RunningLoad {
  const loops = options.users.map((user) =>
    runLoop(ctx, user, ctx.random.fork(`pop-${user}`)).catch((error: unknown) =>
      ctx.log(`pop loop ${user} failed: ${String(error)}`),
    ),
  );
  const quiet = Promise.all(loops).then(() => undefined);
  return { quiet: () => quiet, finish: () => quiet };
}

async function runLoop(ctx: LoadContext, user: string, random: Random): Promise<void> {
  while (!ctx.stopping()) {
    const ports = ctx.ports.pop;
    let loggedIn = false;
    if (ports.length > 0) {
      try {
        loggedIn = await session(ctx, user, random.pick(ports), random);
      } catch (error) {
        ctx.log(`pop ${user}: ${String(error)}`);
      }
    }
    await pause(loggedIn ? random.int(100, 500) : random.int(200, 1000));
  }
}

/** What the session has learnt so far: recorded whatever way it ends. */
interface Progress {
  uidlsAtLogin: string[] | undefined;
  retrieved: { uidl: string; id: string }[];
  deleted: string[];
}

/** One session; true when it got past login. A connection that never greeted leaves no record. */
async function session(ctx: LoadContext, user: string, port: number, random: Random): Promise<boolean> {
  let wire: Wire;
  try {
    wire = await Wire.connect(ctx.host, port, REPLY_TIMEOUT_MS);
  } catch {
    return false;
  }
  const start = Date.now();
  const progress: Progress = { uidlsAtLogin: undefined, retrieved: [], deleted: [] };
  const record = (quit: Outcome) => {
    const entry: PopSessionRecord = { user, ...progress, quit, start, end: Date.now() };
    ctx.records.pop.push(entry);
  };
  const command = async (line: string) => {
    wire.write(`${line}\r\n`);
    return (await wire.readLine(REPLY_TIMEOUT_MS)).startsWith('+OK');
  };
  try {
    if (!(await wire.readLine(REPLY_TIMEOUT_MS)).startsWith('+OK')) return false;
    if (!(await command(`USER ${user}`)) || !(await command(`PASS ${ctx.password}`))) {
      // The maildrop may be locked by a session whose gateway was just killed, or the store is down.
      record('refused');
      await command('QUIT').catch(() => undefined);
      return false;
    }
    if (!(await command('UIDL'))) {
      record(await quit(command));
      return true;
    }
    const listing = (await wire.readPopLines(REPLY_TIMEOUT_MS)).map((line) => line.split(' '));
    progress.uidlsAtLogin = listing.map(([, uidl]) => uidl!);

    for (const [number, uidl] of sample(listing, random.int(0, 5), random)) {
      if (!(await command(`RETR ${number}`))) continue;
      const raw = (await wire.readPopLines(REPLY_TIMEOUT_MS)).join('\r\n');
      const id = chaosIdOf(raw);
      if (id === undefined) ctx.log(`pop ${user}: message ${uidl} has no chaos id`);
      else progress.retrieved.push({ uidl: uidl!, id });
    }
    const numbers = new Map(listing.map(([number, uidl]) => [uidl!, number!]));
    for (const { uidl } of sample(progress.retrieved, random.int(0, progress.retrieved.length), random)) {
      if (await command(`DELE ${numbers.get(uidl)}`)) progress.deleted.push(uidl);
    }
    // An abort without QUIT is recorded as `unknown` too: in both cases no +OK to QUIT came,
    // and the server must then not have removed the messages marked with DELE.
    record(random.chance(0.8) ? await quit(command) : 'unknown');
    return true;
  } catch (error) {
    if (!(error instanceof WireLost)) throw error;
    record('unknown');
    return progress.uidlsAtLogin !== undefined;
  } finally {
    wire.close();
  }
}

async function quit(command: (line: string) => Promise<boolean>): Promise<Outcome> {
  try {
    return (await command('QUIT')) ? 'ok' : 'refused';
  } catch {
    return 'unknown';
  }
}

function sample<T>(items: readonly T[], count: number, random: Random): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0)
    chosen.push(pool.splice(random.int(0, pool.length - 1), 1)[0]!);
  return chosen;
}
