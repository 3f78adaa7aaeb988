import {
  addAlias,
  addDomain,
  createAccount,
  findAccount,
  findMailbox,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, freePort, type Program, type ProgramRun, testNats } from '@tegami/testing';
import { runInRepo, startInRepo } from './processes.js';

// One Tegami deployment for end-to-end tests: its own database and NATS prefix, and
// smtp-ingress, delivery-worker and dns-resolver as real processes, the way the Helm
// chart runs them, on a loopback address of its own.

export interface MailSiteOptions {
  readonly domain: string;
  /** Loopback address the site's SMTP listens on and its outbound mail comes from. */
  readonly ip: string;
  /** The MX port: every site (and peer) in one test listens on the same one. */
  readonly mxPort: number;
  /** `host:port` of the DNS server the site's dns-resolver asks. */
  readonly dnsUpstream: string;
  readonly users?: Readonly<Record<string, string>>;
  readonly aliases?: Readonly<Record<string, readonly string[]>>;
  /** Extra environment for the delivery-worker (retry schedule, limits). */
  readonly workerEnv?: Readonly<Record<string, string>>;
  /** Extra environment for every process of the site. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run a pop-gateway too (plain POP3 on a free port, no TLS); a number runs that many. */
  readonly pop?: boolean | number;
  /** Run that many imap-gateway processes (plain IMAP on free ports, no TLS). */
  readonly imap?: number;
}

export interface MailSite {
  readonly domain: string;
  readonly ip: string;
  readonly hostname: string;
  readonly submissionPort: number;
  /** The pop-gateway's POP3 port (0 without one). */
  readonly popPort: number;
  /** Every pop-gateway process, with its POP3 port. */
  readonly pops: readonly { readonly port: number; readonly program: Program }[];
  /** Every imap-gateway process, with its IMAP port. */
  readonly imaps: readonly { readonly port: number; readonly program: Program }[];
  readonly store: StorePool;
  readonly env: Readonly<Record<string, string>>;
  readonly worker: () => Program;
  startWorker(): Promise<Program>;
  /** `pnpm tegami …` against this site's database. */
  tegami(args: readonly string[]): Promise<ProgramRun>;
  /** The raw messages in a user's INBOX, oldest first. */
  inbox(address: string): Promise<string[]>;
  /** Resolves when the user's INBOX holds at least `count` messages. */
  waitForInbox(address: string, count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

const node = (service: string) => [
  '--conditions=tegami-source',
  '--import',
  'tsx',
  `services/${service}/src/main.ts`,
];

export async function startMailSite(options: MailSiteOptions): Promise<MailSite> {
  const database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 4, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, options.domain);
  for (const [user, password] of Object.entries(options.users ?? {})) {
    await createAccount(store.pool, `${user}@${options.domain}`, password);
  }
  for (const [alias, destinations] of Object.entries(options.aliases ?? {})) {
    await addAlias(store.pool, `${alias}@${options.domain}`, destinations);
  }
  const nats = await testNats();
  const hostname = `mx.${options.domain}`;
  const env = {
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    TEGAMI_NATS_PREFIX: nats.prefix,
    TEGAMI_HOSTNAME: hostname,
    TEGAMI_LOG_LEVEL: 'info',
    TEGAMI_OPS_HOST: '127.0.0.1',
    ...options.env,
  };
  const grpcPort = await freePort();
  const submissionPort = await freePort();
  const programs: Program[] = [];

  const start = async (service: string, extra: Record<string, string>): Promise<Program> => {
    const opsPort = await freePort();
    const program = startInRepo('node', node(service), {
      ...env,
      ...extra,
      TEGAMI_OPS_PORT: String(opsPort),
    });
    programs.push(program);
    await waitReady(program, opsPort);
    return program;
  };

  await start('dns-resolver', {
    TEGAMI_GRPC_HOST: '127.0.0.1',
    TEGAMI_GRPC_PORT: String(grpcPort),
    TEGAMI_DNS_UPSTREAMS: options.dnsUpstream,
    TEGAMI_DNS_TIMEOUT_MS: '500',
  });
  await start('smtp-ingress', {
    TEGAMI_SMTP_HOST: options.ip,
    TEGAMI_SMTP_MX_PORT: String(options.mxPort),
    TEGAMI_SMTP_SUBMISSION_PORT: String(submissionPort),
    TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
  });
  const workerEnv = {
    TEGAMI_RESOLVER_TARGET: `127.0.0.1:${grpcPort}`,
    TEGAMI_DELIVERY_SMTP_PORT: String(options.mxPort),
    TEGAMI_DELIVERY_BIND_ADDRESS: options.ip,
    TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS: '2s',
    ...options.workerEnv,
  };
  let worker = await start('delivery-worker', workerEnv);
  const pops: { port: number; program: Program }[] = [];
  for (let i = 0; i < Number(options.pop ?? 0); i++) {
    const port = await freePort();
    const program = await start('pop-gateway', {
      TEGAMI_POP_HOST: options.ip,
      TEGAMI_POP_PORT: String(port),
      TEGAMI_POPS_PORT: '0',
    });
    pops.push({ port, program });
  }
  const popPort = pops[0]?.port ?? 0;
  const imaps: { port: number; program: Program }[] = [];
  for (let i = 0; i < (options.imap ?? 0); i++) {
    const port = await freePort();
    const program = await start('imap-gateway', {
      TEGAMI_IMAP_HOST: options.ip,
      TEGAMI_IMAP_PORT: String(port),
      TEGAMI_IMAPS_PORT: '0',
    });
    imaps.push({ port, program });
  }

  const inbox = async (address: string): Promise<string[]> => {
    const account = await findAccount(store.pool, address);
    if (!account) throw new Error(`no account ${address}`);
    const mailbox = await findMailbox(store.pool, account.id, 'INBOX');
    const rows = await store.pool.query<{ data: Buffer }>(
      'SELECT b.data FROM messages m JOIN blobs b ON b.sha256 = m.blob_sha256 WHERE m.mailbox_id = $1 ORDER BY m.uid',
      [mailbox!.id],
    );
    return rows.rows.map((row) => row.data.toString('utf8'));
  };

  return {
    domain: options.domain,
    ip: options.ip,
    hostname,
    submissionPort,
    popPort,
    pops,
    imaps,
    store,
    env,
    worker: () => worker,
    async startWorker() {
      worker = await start('delivery-worker', workerEnv);
      return worker;
    },
    tegami: (args) =>
      runInRepo('pnpm', ['--silent', 'tegami', ...args], {
        DATABASE_URL: database.url,
        NATS_URL: nats.url,
        TEGAMI_NATS_PREFIX: nats.prefix,
      }),
    inbox,
    async waitForInbox(address, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const messages = await inbox(address);
        if (messages.length >= count) return messages;
        if (Date.now() > deadline) {
          throw new Error(
            `${address} has ${messages.length} of ${count} messages; worker said:\n${worker.output().slice(-3000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      for (const program of programs) program.signal('SIGTERM');
      await Promise.all(programs.map((p) => p.exited(10_000).catch(() => p.signal('SIGKILL'))));
      await store.close();
      await database.drop().catch(() => undefined);
    },
  };
}

async function waitReady(program: Program, opsPort: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (program.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`not ready on ops port ${opsPort}:\n${program.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
