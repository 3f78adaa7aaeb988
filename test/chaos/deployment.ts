// Tegami as the Helm chart runs it, as processes: two smtp-ingress, two delivery-workers,
// one dns-resolver, two pop-gateways and two imap-gateways, all on the run's own Postgres
// and NATS (through their proxies). Each can be killed and started again on its ports.

import { readFileSync } from 'node:fs';
import { freePort, type Program } from '@tegami/testing';
import { startInRepo } from '../support/processes.js';
import { killGroup, onLastResort } from './last-resort.js';

export type ServiceName =
  | 'dns-resolver'
  | 'smtp-ingress'
  | 'delivery-worker'
  | 'pop-gateway'
  | 'imap-gateway';

export interface ChaosReplica {
  /** e.g. "imap-gateway#2". */
  readonly name: string;
  readonly service: ServiceName;
  readonly opsPort: number;
  /** How many times it has been started. */
  incarnation(): number;
  program(): Program;
  /** Its process's resident set in bytes (undefined when it is not running). */
  rss(): number | undefined;
  /** Sends the signal and waits for the exit. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again (again and again while it exits as it starts) until /readyz says 200. */
  start(timeoutMs?: number): Promise<void>;
  ready(): Promise<boolean>;
}

export interface ChaosDeployment {
  readonly replicas: readonly ChaosReplica[];
  readonly ports: { mx: number[]; submission: number[]; imap: number[]; pop: number[] };
  /** Starts that ended with the process exiting (a dependency down as it started): why. */
  readonly failedStarts: readonly string[];
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  readonly host: string;
  readonly domain: string;
  /** `host:port` of the DNS server dns-resolver asks. */
  readonly dnsUpstream: string;
  /** The port remote MX hosts listen on (the scripted peer's). */
  readonly remoteSmtpPort: number;
  readonly log: (line: string) => void;
}

const node = (service: ServiceName) => [
  '--conditions=tegami-source',
  '--import',
  'tsx',
  `services/${service}/src/main.ts`,
];

export async function startChaosDeployment(options: DeploymentOptions): Promise<ChaosDeployment> {
  const env = {
    DATABASE_URL: options.databaseUrl,
    NATS_URL: options.natsUrl,
    TEGAMI_NATS_PREFIX: 'chaos',
    TEGAMI_HOSTNAME: `mx.${options.domain}`,
    TEGAMI_LOG_LEVEL: 'warn',
    TEGAMI_OPS_HOST: '127.0.0.1',
  };
  const grpcPort = await freePort();
  const resolver = { TEGAMI_RESOLVER_TARGET: `127.0.0.1:${grpcPort}` };
  const ports = { mx: [] as number[], submission: [] as number[], imap: [] as number[], pop: [] as number[] };
  const plans: { service: ServiceName; env: Record<string, string> }[] = [
    {
      service: 'dns-resolver',
      env: {
        TEGAMI_GRPC_HOST: '127.0.0.1',
        TEGAMI_GRPC_PORT: String(grpcPort),
        TEGAMI_DNS_UPSTREAMS: options.dnsUpstream,
        TEGAMI_DNS_TIMEOUT_MS: '500',
      },
    },
  ];
  for (let i = 0; i < 2; i++) {
    const mx = await freePort();
    const submission = await freePort();
    ports.mx.push(mx);
    ports.submission.push(submission);
    plans.push({
      service: 'smtp-ingress',
      env: {
        ...resolver,
        TEGAMI_SMTP_HOST: options.host,
        TEGAMI_SMTP_MX_PORT: String(mx),
        TEGAMI_SMTP_SUBMISSION_PORT: String(submission),
        TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
      },
    });
  }
  for (let i = 0; i < 2; i++) {
    plans.push({
      service: 'delivery-worker',
      env: {
        ...resolver,
        TEGAMI_DELIVERY_SMTP_PORT: String(options.remoteSmtpPort),
        TEGAMI_DELIVERY_BIND_ADDRESS: options.host,
        TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS: '2s',
        TEGAMI_DELIVERY_RETRY_MIN_MS: '500ms',
        TEGAMI_DELIVERY_RETRY_MAX_MS: '3s',
        // Long enough that nothing expires while the run's faults come and go.
        TEGAMI_DELIVERY_MAX_QUEUE_TIME_MS: '2h',
      },
    });
  }
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.pop.push(port);
    plans.push({
      service: 'pop-gateway',
      env: { TEGAMI_POP_HOST: options.host, TEGAMI_POP_PORT: String(port), TEGAMI_POPS_PORT: '0' },
    });
  }
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.imap.push(port);
    plans.push({
      service: 'imap-gateway',
      env: {
        TEGAMI_IMAP_HOST: options.host,
        TEGAMI_IMAP_PORT: String(port),
        TEGAMI_IMAPS_PORT: '0',
        TEGAMI_MANAGESIEVE_PORT: '0',
      },
    });
  }

  const failedStarts: string[] = [];
  const counts = new Map<ServiceName, number>();
  const replicas: ChaosReplica[] = [];
  for (const plan of plans) {
    const index = (counts.get(plan.service) ?? 0) + 1;
    counts.set(plan.service, index);
    replicas.push(
      await replica(
        `${plan.service}#${index}`,
        plan.service,
        { ...env, ...plan.env },
        options.log,
        failedStarts,
      ),
    );
  }
  const forget = onLastResort(() => {
    for (const r of replicas) killGroup(r.program().child.pid);
  });
  // The first start of each (dns-resolver first: the others ask it) one after another:
  // ten Node processes compiling TypeScript at once would only slow each other down.
  for (const r of replicas) await r.start(120_000);
  return {
    replicas,
    ports,
    failedStarts,
    async stop() {
      await Promise.all(replicas.map((r) => r.stop('SIGTERM').catch(() => r.stop('SIGKILL'))));
      forget();
    },
  };
}

async function replica(
  name: string,
  service: ServiceName,
  env: Record<string, string>,
  log: (line: string) => void,
  failedStarts: string[],
): Promise<ChaosReplica> {
  const opsPort = await freePort();
  let current: Program | undefined;
  let incarnation = 0;
  const running = () =>
    current !== undefined && current.child.exitCode === null && current.child.signalCode === null;
  const ready = () =>
    fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  return {
    name,
    service,
    opsPort,
    incarnation: () => incarnation,
    program: () => {
      if (!current) throw new Error(`${name} was never started`);
      return current;
    },
    rss() {
      const pid = current?.child.pid;
      if (pid === undefined || !running()) return undefined;
      try {
        const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
    async stop(signal) {
      if (!current || !running()) return;
      current.signal(signal);
      await current.exited(signal === 'SIGKILL' ? 15_000 : 60_000);
    },
    async start(timeoutMs = 90_000) {
      // A service exits at once (code 1, one line saying why) when Postgres or NATS is
      // down as it starts; Kubernetes starts it again, with a growing pause. So does this.
      const deadline = Date.now() + timeoutMs;
      let pause = 500;
      for (;;) {
        incarnation++;
        const program = startInRepo('node', node(service), { ...env, TEGAMI_OPS_PORT: String(opsPort) });
        current = program;
        while (!(await ready())) {
          if (program.child.exitCode !== null) break;
          if (Date.now() > deadline) {
            log(`${name} did not become ready:\n${program.output().slice(-4000)}`);
            throw new Error(`${name} (start ${incarnation}) did not become ready within ${timeoutMs} ms`);
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        if (program.child.exitCode === null) return;
        await program.exited(10_000).catch(() => undefined);
        const why = program.output().trim().split('\n').at(-1) ?? '';
        failedStarts.push(`${name}: ${why}`);
        log(`${name} exited as it started (${why}); starting it again in ${pause} ms`);
        if (Date.now() + pause > deadline)
          throw new Error(`${name} (start ${incarnation}) kept exiting as it started: ${why}`);
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 8_000);
      }
    },
    ready,
  };
}
