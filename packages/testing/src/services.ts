import { connect as connectTcp } from 'node:net';

/**
 * Where the tests find Postgres and NATS, in this order (issue 2, test harness):
 * DATABASE_URL / NATS_URL; else 127.0.0.1:5432 / :4222 when they answer; else containers
 * started by testcontainers when a Docker engine exists; else one message saying what to start.
 */
export interface TestServices {
  /** A Postgres URL whose user may CREATE DATABASE; the database in it is the admin one. */
  readonly postgresAdminUrl: string;
  readonly natsUrl: string;
}

let cached: Promise<TestServices> | undefined;

export function testServices(): Promise<TestServices> {
  cached ??= locateServices();
  return cached;
}

async function locateServices(): Promise<TestServices> {
  const [postgresAdminUrl, natsUrl] = await Promise.all([locatePostgres(), locateNats()]);
  return { postgresAdminUrl, natsUrl };
}

async function locatePostgres(): Promise<string> {
  const fromEnv = process.env['DATABASE_URL'];
  if (fromEnv) return fromEnv;
  if (await answers('127.0.0.1', 5432)) return 'postgres://postgres@127.0.0.1:5432/postgres';
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine').start();
    return container.getConnectionUri();
  } catch (err) {
    throw missing('Postgres', 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres', err);
  }
}

async function locateNats(): Promise<string> {
  const fromEnv = process.env['NATS_URL'];
  if (fromEnv) return fromEnv;
  if (await answers('127.0.0.1', 4222)) return 'nats://127.0.0.1:4222';
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('nats:2.10-alpine')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    return `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  } catch (err) {
    throw missing('NATS with JetStream', 'NATS_URL', 'nats://127.0.0.1:4222', err);
  }
}

function missing(what: string, variable: string, example: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `Tests need ${what}: set ${variable} (e.g. ${example}), start it on its default port on 127.0.0.1, ` +
      `or run a Docker engine for testcontainers (${reason})`,
  );
}

/** True when something accepts a TCP connection there within a short time. */
export function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
