import {
  addAlias,
  addDomain,
  createAccount,
  findAccount,
  findMailbox,
  mailboxRawMessages,
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
  /** smtp-ingress processes (default 1); the first has `mxPort`, the others free ports. */
  readonly smtp?: number;
  /** delivery-worker processes (default 1). */
  readonly workers?: number;
}

/** One process of the site, the way Kubernetes runs a pod: it can be stopped and started again. */
export interface Replica {
  readonly service: string;
  readonly opsPort: number;
  /** The process running now (the last one started). */
  program(): Program;
  /** Sends the signal, waits for the exit, and starts it again (same ports) until ready. */
  restart(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again after it exited. */
  start(): Promise<void>;
}

export interface SmtpReplica {
  readonly mxPort: number;
  readonly submissionPort: number;
  readonly replica: Replica;
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
  /** Every smtp-ingress process, first one first. */
  readonly ingresses: readonly SmtpReplica[];
  /** Every delivery-worker process. */
  readonly workers: readonly Replica[];
  /** Every process of the site, dns-resolver first. */
  readonly replicas: readonly Replica[];
  /** The first delivery-worker's process. */
  readonly worker: () => Program;
  /** Starts the first delivery-worker again after it exited (killed by a test). */
  startWorker(): Promise<Program>;
  /** `pnpm tegami …` against this site's database and dns-resolver, with the site's `env`. */
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
  const replicas: Replica[] = [];

  const start = async (service: string, extra: Record<string, string>): Promise<Replica> => {
    const opsPort = await freePort();
    let current: Program | undefined;
    const launch = async () => {
      current = startInRepo('node', node(service), {
        ...env,
        ...extra,
        TEGAMI_OPS_PORT: String(opsPort),
      });
      await waitReady(current, opsPort);
    };
    await launch();
    const replica: Replica = {
      service,
      opsPort,
      program: () => current!,
      async restart(signal) {
        current!.signal(signal);
        await current!.exited(60_000);
        await launch();
      },
      start: launch,
    };
    replicas.push(replica);
    return replica;
  };

  await start('dns-resolver', {
    TEGAMI_GRPC_HOST: '127.0.0.1',
    TEGAMI_GRPC_PORT: String(grpcPort),
    TEGAMI_DNS_UPSTREAMS: options.dnsUpstream,
    TEGAMI_DNS_TIMEOUT_MS: '500',
  });
  const ingresses: SmtpReplica[] = [];
  for (let i = 0; i < (options.smtp ?? 1); i++) {
    const mxPort = i === 0 ? options.mxPort : await freePort();
    const submission = i === 0 ? submissionPort : await freePort();
    const replica = await start('smtp-ingress', {
      TEGAMI_SMTP_HOST: options.ip,
      TEGAMI_SMTP_MX_PORT: String(mxPort),
      TEGAMI_SMTP_SUBMISSION_PORT: String(submission),
      TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
      TEGAMI_RESOLVER_TARGET: `127.0.0.1:${grpcPort}`,
    });
    ingresses.push({ mxPort, submissionPort: submission, replica });
  }
  const workerEnv = {
    TEGAMI_RESOLVER_TARGET: `127.0.0.1:${grpcPort}`,
    TEGAMI_DELIVERY_SMTP_PORT: String(options.mxPort),
    TEGAMI_DELIVERY_BIND_ADDRESS: options.ip,
    TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS: '2s',
    ...options.workerEnv,
  };
  const workers: Replica[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) workers.push(await start('delivery-worker', workerEnv));
  const pops: { port: number; program: Program }[] = [];
  for (let i = 0; i < Number(options.pop ?? 0); i++) {
    const port = await freePort();
    const replica = await start('pop-gateway', {
      TEGAMI_POP_HOST: options.ip,
      TEGAMI_POP_PORT: String(port),
      TEGAMI_POPS_PORT: '0',
    });
    pops.push({
      port,
      get program() {
        return replica.program();
      },
    });
  }
  const popPort = pops[0]?.port ?? 0;
  const imaps: { port: number; program: Program }[] = [];
  for (let i = 0; i < (options.imap ?? 0); i++) {
    const port = await freePort();
    const replica = await start('imap-gateway', {
      TEGAMI_IMAP_HOST: options.ip,
      TEGAMI_IMAP_PORT: String(port),
      TEGAMI_IMAPS_PORT: '0',
      TEGAMI_MANAGESIEVE_PORT: '0',
    });
    imaps.push({
      port,
      get program() {
        return replica.program();
      },
    });
  }

  const inbox = async (address: string): Promise<string[]> => {
    const account = await findAccount(store.pool, address);
    if (!account) throw new Error(`no account ${address}`);
    const mailbox = await findMailbox(store.pool, account.id, 'INBOX');
    return (await mailboxRawMessages(store.pool, mailbox!.id)).map((m) => m.raw.toString('utf8'));
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
    ingresses,
    workers,
    replicas,
    worker: () => workers[0]!.program(),
    async startWorker() {
      await workers[0]!.start();
      return workers[0]!.program();
    },
    tegami: (args) =>
      runInRepo('pnpm', ['--silent', 'tegami', ...args], {
        ...options.env,
        DATABASE_URL: database.url,
        NATS_URL: nats.url,
        TEGAMI_NATS_PREFIX: nats.prefix,
        TEGAMI_RESOLVER_TARGET: `127.0.0.1:${grpcPort}`,
      }),
    inbox,
    async waitForInbox(address, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const messages = await inbox(address);
        if (messages.length >= count) return messages;
        if (Date.now() > deadline) {
          throw new Error(
            `${address} has ${messages.length} of ${count} messages; worker said:\n${workers[0]!.program().output().slice(-3000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const programs = replicas.map((r) => r.program());
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
