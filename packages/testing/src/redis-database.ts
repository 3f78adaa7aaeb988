import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';

// One Redis database (1-15 of the shared server at 127.0.0.1:6379) held by one test for its
// lifetime, so tests running side by side, in this checkout or another, never see each
// other's keys (the test rspamd keeps its Bayes tokens and learn cache there). A claim is
// a key with a time to live, refreshed while the test runs: a test that dies frees its
// database within minutes, and the next one to claim it flushes what was left. A database
// holding keys without the harness's marker belongs to someone else and is never touched.

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

export interface ClaimedRedisDatabase {
  readonly host: string;
  readonly port: number;
  readonly database: number;
  /** A command on this database (HGETALL, DBSIZE, ...), over a connection of its own. */
  command(...args: readonly (string | number)[]): Promise<RespValue>;
  /** Flushes the database and gives it back. */
  release(): Promise<void>;
}

export type RespValue = string | number | null | RespError | readonly RespValue[];

export class RespError extends Error {
  override readonly name = 'RespError';
}

const CLAIM_KEY = 'tegami:test:claim';
const MARKER_KEY = 'tegami:test:harness';
const CLAIM_TTL_MS = 180_000;
const REFRESH_EVERY_MS = 30_000;
const TIMEOUT_MS = 10_000;

// KEYS[1] claim, KEYS[2] marker; ARGV[1] token, ARGV[2] TTL. 1: claimed, 0: held by a live
// claim, -1: someone else's data.
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('DBSIZE') > 0 and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
redis.call('FLUSHDB')
redis.call('SET', KEYS[2], '1')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;
const REFRESH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('FLUSHDB') return 1 end
return 0`;

export async function claimRedisDatabase(
  address: RedisAddress = { host: '127.0.0.1', port: 6379 },
): Promise<ClaimedRedisDatabase> {
  const token = `${process.pid}:${randomUUID()}`;
  const on = (database: number, ...args: (string | number)[]) => redisCommand(address, database, args);
  let database: number | undefined;
  for (let n = 1; n <= 15 && database === undefined; n++) {
    let claimed: RespValue;
    try {
      claimed = await on(n, 'EVAL', CLAIM, 2, CLAIM_KEY, MARKER_KEY, token, CLAIM_TTL_MS);
    } catch (err) {
      // A server configured with fewer databases: no more to try.
      if (err instanceof RespError && /DB index is out of range/i.test(err.message)) break;
      throw err;
    }
    if (claimed === 1) database = n;
  }
  if (database === undefined)
    throw new Error(`no free Redis database (1-15) on ${address.host}:${address.port} for a test`);
  const db = database;
  const refresh = setInterval(() => {
    on(db, 'EVAL', REFRESH, 1, CLAIM_KEY, token, CLAIM_TTL_MS).catch(() => undefined);
  }, REFRESH_EVERY_MS);
  refresh.unref();
  let released = false;
  return {
    ...address,
    database: db,
    command: (...args) => on(db, ...args),
    async release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      await on(db, 'EVAL', RELEASE, 1, CLAIM_KEY, token);
    },
  };
}

/** Connects, SELECTs the database, runs one command, and closes (RESP2). */
export function redisCommand(
  address: RedisAddress,
  database: number,
  args: readonly (string | number)[],
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: address.host, port: address.port });
    let buffer = Buffer.alloc(0);
    const replies: RespValue[] = [];
    const timer = setTimeout(
      () => done(new Error(`Redis ${address.host}:${address.port} did not answer in ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    const done = (error?: Error, value?: RespValue) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    socket.on('error', (err) => done(new Error(`Redis ${address.host}:${address.port}: ${err.message}`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        for (;;) {
          const parsed = parseResp(buffer, 0);
          if (!parsed) break;
          replies.push(parsed.value);
          buffer = buffer.subarray(parsed.end);
        }
      } catch (err) {
        done(err as Error);
        return;
      }
      if (replies.length >= 2) {
        const [selected, answer] = replies;
        if (selected instanceof RespError) done(selected);
        else if (answer instanceof RespError) done(answer);
        else done(undefined, answer);
      }
    });
    socket.write(encodeCommand(['SELECT', database]) + encodeCommand(args));
  });
}

function encodeCommand(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  }
  return out;
}

/** One RESP2 value at offset, or undefined when the buffer does not hold all of it yet. */
function parseResp(buffer: Buffer, offset: number): { value: RespValue; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buffer.toString('latin1', offset, lineEnd))}`);
  }
}
