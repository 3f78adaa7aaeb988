import { LOG_LEVELS } from '../logger.js';
import { durationMs, oneOf, port, string } from './read.js';

/**
 * The settings every long-running program reads the same way (logging, the ops server,
 * shutdown), so each main.ts spreads these into its spec instead of repeating them.
 */
export function commonSettings() {
  return {
    logLevel: oneOf('TEGAMI_LOG_LEVEL', LOG_LEVELS),
    opsHost: string('TEGAMI_OPS_HOST'),
    opsPort: port('TEGAMI_OPS_PORT'),
    shutdownTimeoutMs: durationMs('TEGAMI_SHUTDOWN_TIMEOUT_MS', { min: 0, max: 3_600_000 }),
  };
}
