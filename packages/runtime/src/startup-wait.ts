import { describeError } from './describe-error.js';
import type { Logger } from './logger.js';

// A service started while Postgres or NATS is away (a restart of either, a node coming up
// before the database) waits for it, unready, instead of exiting at once: Kubernetes would
// restart an exited pod only after a growing back-off, so the pod would come back minutes
// after the outage ended. The chaos run (test/chaos) showed it. A dependency that stays away
// past the wait still ends the process with the one line that says why.

export interface StartupWaitOptions {
  readonly waitMs: number;
  readonly logger: Logger;
  /** Whether the failure may pass (a refused connection); others end the wait at once. */
  readonly transient?: (err: unknown) => boolean;
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function untilAvailable<T>(
  what: string,
  attempt: () => Promise<T>,
  options: StartupWaitOptions,
): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  let pause = 500;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      const waited = Date.now() - started;
      if (options.transient?.(err) === false || waited + pause > options.waitMs) throw err;
      options.logger.warn(
        { err: describeError(err), tries, waitedMs: waited },
        `${what} cannot be reached yet; waiting for it`,
      );
      await sleep(pause);
      pause = Math.min(pause * 2, 5_000);
    }
  }
}
