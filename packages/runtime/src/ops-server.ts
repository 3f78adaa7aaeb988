import type { AddressInfo } from 'node:net';
import { fastify } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describeError } from './describe-error.js';
import type { Logger } from './logger.js';

/** A readiness check resolves when its dependency works and rejects with the reason when not. */
export type ReadinessCheck = () => Promise<void>;

export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port; the handle says which. */
  readonly port: number;
  readonly service: string;
  readonly logger: Logger;
  /** By name (`postgres`, `nats`): each runs on every /readyz, all in parallel. */
  readonly readinessChecks?: Readonly<Record<string, ReadinessCheck>>;
  /** How long one check may take before it counts as down. */
  readonly checkTimeoutMs?: number;
  /** A registry from createMetricsRegistry() that the service has added its own metrics to. */
  readonly registry?: Registry;
}

export interface OpsServer {
  readonly port: number;
  /** http://host:port, with a loopback address when the server listens on every address. */
  readonly url: string;
  readonly metrics: Registry;
  /** /readyz answers 503 with this reason from now on, without running the checks (a draining shutdown). */
  markNotReady(reason: string): void;
  /** Undoes markNotReady: /readyz runs its checks again. */
  markReady(): void;
  stop(): Promise<void>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, string>;
}

/**
 * A registry of its own per server, with the default process metrics labelled with the
 * service. The global registry would refuse a second collectDefaultMetrics() when the
 * standalone runs five services in one process, and their metrics would be mixed anyway.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Runs every check in parallel, each bounded by timeoutMs; "ok" or the reason per check. */
export async function runReadinessChecks(
  checks: Readonly<Record<string, ReadinessCheck>>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => withTimeout(checks[name]!, timeoutMs)));
  const report: Record<string, string> = {};
  names.forEach((name, i) => {
    report[name] = results[i]!;
  });
  return { ready: results.every((r) => r === 'ok'), checks: report };
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
  });
  // A check that throws synchronously, or rejects after its timeout, must not escape as an
  // unhandled rejection: both become a reason here.
  const outcome = Promise.resolve()
    .then(check)
    .then(
      () => 'ok',
      (err: unknown) => describeError(err),
    );
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The operations HTTP server every program runs: /healthz (the process answers), /readyz
 * (its dependencies answer, for the load balancer and Kubernetes) and /metrics
 * (Prometheus). fastify's own logger is off: its per-request lines would drown the mail
 * logs at one probe a second; errors go to our logger.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { host, service, logger } = options;
  const checks = options.readinessChecks ?? {};
  const checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  const registry = options.registry ?? createMetricsRegistry(service);
  let notReadyReason: string | undefined;
  // Probes come every few seconds: log when readiness changes, not on every probe.
  let lastReport = '';

  const app = fastify({ logger: false });

  app.setErrorHandler((err, request, reply) => {
    logger.error({ err, url: request.url }, 'ops server request failed');
    void reply.code(500).send({ status: 'error' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (notReadyReason !== undefined) {
      return reply.code(503).send({ status: 'not ready', reason: notReadyReason });
    }
    const report = await runReadinessChecks(checks, checkTimeoutMs);
    const summary = JSON.stringify(report.checks);
    if (summary !== lastReport) {
      if (report.ready) logger.info({ checks: report.checks }, 'ready');
      else logger.warn({ checks: report.checks }, 'not ready');
      lastReport = summary;
    }
    if (!report.ready) {
      return reply.code(503).send({ status: 'not ready', checks: report.checks });
    }
    return { status: 'ready', checks: report.checks };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(text);
  });

  await app.listen({ host, port: options.port });
  const bound = (app.server.address() as AddressInfo).port;

  return {
    port: bound,
    url: `http://${urlHost(host)}:${bound}`,
    metrics: registry,
    markNotReady(reason) {
      notReadyReason = reason;
    },
    markReady() {
      notReadyReason = undefined;
    },
    stop: async () => {
      await app.close();
    },
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
