import type { Registry } from 'prom-client';
import { commonSettings } from './config/common.js';
import { exitOnStartupError, loadConfigOrExit } from './config/exit.js';
import type { ConfigOf, Reader } from './config/read.js';
import type { ServiceName } from './config/variables.js';
import { createLogger, type Logger } from './logger.js';
import { createMetricsRegistry, type ReadinessCheck, startOpsServer } from './ops-server.js';
import { onShutdown } from './shutdown.js';

// The life of a service process, the same for all five, so each main.ts says only what is
// its own: which settings, how to start, what readiness means and how to stop in order.

type CommonConfig = ConfigOf<ReturnType<typeof commonSettings>>;

export type ServiceConfig<S extends Record<string, Reader<unknown>>> = ConfigOf<S> & CommonConfig;

export interface ServiceTools<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Registry;
}

export interface StartedService {
  /** What /readyz checks (e.g. Postgres and NATS answer). */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** The service's graceful stop, in order: drain its work, then close its connections. */
  stop(): Promise<void>;
}

/**
 * Reads the settings (the common ones added) or exits 2 saying which is wrong; starts the
 * service or exits 1 with one line; serves /healthz, /readyz and /metrics; and on SIGTERM
 * or SIGINT fails readiness at once, then runs the service's stop, all bounded by
 * TEGAMI_SHUTDOWN_TIMEOUT_MS.
 */
export async function runService<S extends Record<string, Reader<unknown>>>(
  service: ServiceName,
  settings: S,
  start: (tools: ServiceTools<ServiceConfig<S>>) => Promise<StartedService>,
): Promise<void> {
  // Read apart so the common settings keep their types; both check the same environment.
  const common: CommonConfig = loadConfigOrExit(commonSettings(), { service });
  const config: ServiceConfig<S> = { ...loadConfigOrExit(settings, { service }), ...common };
  const logger = createLogger({ service, level: common.logLevel });
  const running = await exitOnStartupError('could not start', async () => {
    const metrics = createMetricsRegistry(service);
    const started = await start({ config, logger, metrics });
    const ops = await startOpsServer({
      host: common.opsHost,
      port: common.opsPort,
      service,
      logger,
      registry: metrics,
      readinessChecks: started.readiness,
    });
    return { started, ops };
  });
  onShutdown(
    async () => {
      running.ops.markNotReady('shutting down');
      await running.started.stop();
      await running.ops.stop();
    },
    { timeoutMs: common.shutdownTimeoutMs, logger },
  );
}
