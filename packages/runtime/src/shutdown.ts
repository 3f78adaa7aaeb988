import type { Logger } from './logger.js';

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** The part of `process` that shutdown uses, so tests can send signals and catch exits. */
export interface SignalSource {
  on(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
  off(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
}

export interface ShutdownOptions {
  /** How long the handler may take; after that the process exits with code 1. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly signals?: SignalSource;
  readonly exit?: (code: number) => void;
}

const SIGNALS: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'];

/**
 * Graceful shutdown: the first SIGTERM or SIGINT runs the handler (stop accepting, finish
 * the sessions and jobs in hand, close connections) and exits 0 when it is done, or 1 when
 * it fails or outlives the deadline: Kubernetes sends SIGKILL after its grace period, and a
 * process that exits first on its own says in its log what it was still waiting for. A
 * second signal exits at once, for the operator who pressed Ctrl-C twice.
 * Returns a function that removes the signal listeners.
 */
export function onShutdown(
  handler: (signal: ShutdownSignal) => Promise<void>,
  options: ShutdownOptions,
): () => void {
  const { timeoutMs, logger } = options;
  const signals = options.signals ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started = false;
  let exited = false;
  let deadline: NodeJS.Timeout | undefined;

  // Once only: a handler that settles after the deadline must not exit a second time.
  const finish = (code: number) => {
    clearTimeout(deadline);
    if (exited) return;
    exited = true;
    exit(code);
  };

  const listener = (signal: ShutdownSignal) => {
    if (started) {
      logger.warn({ signal }, 'second signal: exiting at once');
      finish(1);
      return;
    }
    started = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
    // Not unref'd: with nothing else left in the event loop, an unref'd deadline would let the
    // process end with code 0 while the handler is still pending.
    deadline = setTimeout(() => {
      logger.error({ signal, timeoutMs }, `shutdown did not finish within ${timeoutMs} ms: exiting`);
      finish(1);
    }, timeoutMs);
    Promise.resolve()
      .then(() => handler(signal))
      .then(
        () => {
          logger.info('shut down');
          finish(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          finish(1);
        },
      );
  };

  for (const s of SIGNALS) signals.on(s, listener);
  return () => {
    for (const s of SIGNALS) signals.off(s, listener);
  };
}

/**
 * How long a service lets work in progress finish on SIGTERM (SMTP transactions, delivery
 * jobs): the shutdown timeout less five seconds for closing connections and pools, so the
 * process still exits on its own, before the shutdown deadline (and Kubernetes' grace period).
 */
export function drainTimeoutOf(shutdownTimeoutMs: number): number {
  return Math.max(1_000, shutdownTimeoutMs - 5_000);
}
