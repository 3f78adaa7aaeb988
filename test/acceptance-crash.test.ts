import { busNames } from '@tegami/bus';
import { addDomain, createAccount, migrate, openStore, type StorePool } from '@tegami/store';
import {
  createTestDatabase,
  freePort,
  jobQueueState,
  LineClient,
  type Program,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  type TestNats,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInRepo } from './support/processes.js';

// smtp-ingress SIGKILLed at the two steps of acceptance a crash can split
// (docs/architecture/acceptance-order.md): its job published and acknowledged by JetStream
// but its transaction not committed, and its rows written but the job not yet published.
// Its NATS connection runs through a proxy that holds one direction, which stops the
// ingress exactly there; the delivery-worker talks to NATS directly. Either way the client
// never saw 250, and nothing may be delivered, queued, or left waiting in JetStream.

const DOMAIN = 'walk.test';
let database: TestDatabase;
let store: StorePool;
let nats: TestNats;
let natsProxy: TcpProxy;
let ingress: Program;
let worker: Program;
let mxPort: number;
let workerOps: number;
let startIngress: () => Promise<void>;

const node = (service: string) => [
  '--conditions=tegami-source',
  '--import',
  'tsx',
  `services/${service}/src/main.ts`,
];

async function ready(program: Program, opsPort: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`http://127.0.0.1:${opsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (program.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`not ready:\n${program.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function count(sql: string): Promise<number> {
  return (await store.pool.query(sql)).rows[0].n;
}

/** The ingress's acceptance has written its rows and waits, its transaction open. */
const acceptanceOpen = () =>
  store.pool
    .query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'tegami-smtp-ingress'
          AND state = 'idle in transaction' AND query LIKE '%INSERT INTO queue%'`,
    )
    .then((r) => r.rows[0].n > 0);

/** Some session (the worker's, holding the job) waits for the acceptance's lock. */
const workerWaiting = () =>
  store.pool
    .query(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()`,
    )
    .then((r) => r.rows[0].n > 0);

async function workerJobs(result: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${workerOps}/metrics`)).text();
  const line = new RegExp(`^tegami_delivery_jobs_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm').exec(
    text,
  );
  return Number(line?.[1] ?? 0);
}

/** A transaction up to the end of its DATA, the final dot not yet sent. */
async function transactionBeforeDot(subject: string): Promise<LineClient> {
  const client = await LineClient.connect(mxPort);
  await client.readReply();
  await client.command('EHLO client.test');
  expect((await client.command('MAIL FROM:<sender@elsewhere.test>')).code).toBe(250);
  expect((await client.command(`RCPT TO:<bob@${DOMAIN}>`)).code).toBe(250);
  expect((await client.command('DATA')).code).toBe(354);
  client.write(`From: <sender@elsewhere.test>\r\nTo: <bob@${DOMAIN}>\r\nSubject: ${subject}\r\n\r\nbody\r\n`);
  return client;
}

/** What the client hears after the dot when the ingress is killed: nothing, the connection just closes. */
async function answerAfterKill(client: LineClient): Promise<string> {
  return client.readLine(30_000).then(
    (line) => line,
    () => 'closed',
  );
}

async function inboxSize(): Promise<number> {
  return count(
    `SELECT count(*)::int AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
       JOIN accounts a ON a.id = b.account_id WHERE a.address = 'bob@${DOMAIN}'`,
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, DOMAIN);
  await createAccount(store.pool, `bob@${DOMAIN}`, 'bob-password');
  nats = await testNats();
  const natsUrl = new URL(nats.url);
  natsProxy = await startTcpProxy({ host: natsUrl.hostname, port: Number(natsUrl.port || 4222) });
  const env = {
    DATABASE_URL: database.url,
    TEGAMI_NATS_PREFIX: nats.prefix,
    TEGAMI_HOSTNAME: `mx.${DOMAIN}`,
    TEGAMI_LOG_LEVEL: 'info',
    TEGAMI_OPS_HOST: '127.0.0.1',
    // Nothing here asks DNS: loopback clients, one local recipient.
    TEGAMI_RESOLVER_TARGET: '127.0.0.1:1',
  };
  workerOps = await freePort();
  worker = startInRepo('node', node('delivery-worker'), {
    ...env,
    NATS_URL: nats.url,
    TEGAMI_OPS_PORT: String(workerOps),
  });
  await ready(worker, workerOps);
  mxPort = await freePort();
  const ingressOps = await freePort();
  startIngress = async () => {
    ingress = startInRepo('node', node('smtp-ingress'), {
      ...env,
      NATS_URL: `nats://127.0.0.1:${natsProxy.port}`,
      TEGAMI_OPS_PORT: String(ingressOps),
      TEGAMI_SMTP_HOST: '127.0.0.1',
      TEGAMI_SMTP_MX_PORT: String(mxPort),
      TEGAMI_SMTP_SUBMISSION_PORT: '0',
      TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
    });
    await ready(ingress, ingressOps);
  };
  await startIngress();
}, 120_000);

afterAll(async () => {
  for (const program of [ingress, worker]) program?.signal('SIGTERM');
  await Promise.all([ingress, worker].map((p) => p?.exited(15_000).catch(() => p.signal('SIGKILL'))));
  await store?.close();
  await natsProxy?.close();
  await database?.drop().catch(() => undefined);
});

describe('smtp-ingress SIGKILLed in the middle of an acceptance', () => {
  it('job published, killed before the commit: the worker waits for the rollback, drops the job, delivers nothing', async () => {
    const staleBefore = await workerJobs('stale');
    const client = await transactionBeforeDot('published, never committed');
    // The PubAck never reaches the ingress: it waits for it with its transaction open.
    natsProxy.hold('downstream');
    client.write('.\r\n');
    await until('the acceptance to wait for its PubAck', acceptanceOpen);
    // The job is in JetStream, and the worker that has it waits for this very transaction.
    await until('the worker to wait for the acceptance', workerWaiting);
    expect(await count(`SELECT count(*)::int AS n FROM queue`)).toBe(0);

    ingress.signal('SIGKILL');
    await ingress.exited(15_000);
    // The held publish dies with the connection, as it would in the dead host's socket
    // buffer. Releasing it instead would pass it on whenever the kernel's FIN (not an RST)
    // ends the ingress's side: then the job does reach JetStream, after all.
    natsProxy.cut();
    natsProxy.restore();
    natsProxy.release();
    expect(await answerAfterKill(client)).toBe('closed');

    // Postgres rolled the acceptance back; the worker found no row and acknowledged the job.
    await until('the worker to drop the job', async () => (await workerJobs('stale')) > staleBefore);
    const names = busNames(nats.prefix);
    expect(await jobQueueState(nats.url, names)).toEqual({ stored: 0, waiting: 0, unacknowledged: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM queue`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM deliveries`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM blobs`)).toBe(0);
    expect(await inboxSize()).toBe(0);
    await startIngress();
  }, 120_000);

  it('rows written, killed before the publish reached NATS: no row, no blob, no job', async () => {
    const client = await transactionBeforeDot('written, never published');
    // The publish stays in the proxy: JetStream never sees it.
    natsProxy.hold('upstream');
    client.write('.\r\n');
    await until('the acceptance to wait for its PubAck', acceptanceOpen);

    ingress.signal('SIGKILL');
    await ingress.exited(15_000);
    // The held publish dies with the connection, as it would in the dead host's socket
    // buffer. Releasing it instead would pass it on whenever the kernel's FIN (not an RST)
    // ends the ingress's side: then the job does reach JetStream, after all.
    natsProxy.cut();
    natsProxy.restore();
    natsProxy.release();
    expect(await answerAfterKill(client)).toBe('closed');

    // The connection's end rolls the transaction back: no 'accepting' row for a sweep, no
    // 'queued' row without a job for the due scan to deliver after the client's retry.
    await until('the rollback', async () => !(await acceptanceOpen()));
    expect(await count(`SELECT count(*)::int AS n FROM queue`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM blobs`)).toBe(0);
    expect(await jobQueueState(nats.url, busNames(nats.prefix))).toEqual({
      stored: 0,
      waiting: 0,
      unacknowledged: 0,
    });
    expect(await inboxSize()).toBe(0);
    await startIngress();
  }, 120_000);

  it('after both, the client retries and the message is delivered once', async () => {
    const client = await transactionBeforeDot('the retry');
    client.write('.\r\n');
    const answer = await client.readReply(30_000);
    expect(answer.code).toBe(250);
    await client.command('QUIT');
    await until('the delivery', async () => (await inboxSize()) === 1);
    await until(
      'the message done',
      async () => (await count(`SELECT count(*)::int AS n FROM queue WHERE state = 'done'`)) === 1,
    );
    expect(await jobQueueState(nats.url, busNames(nats.prefix))).toEqual({
      stored: 0,
      waiting: 0,
      unacknowledged: 0,
    });
  }, 60_000);
});
