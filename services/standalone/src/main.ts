import {
  commonSettings,
  createLogger,
  exitOnStartupError,
  loadConfigOrExit,
  onShutdown,
  path,
  string,
} from '@tegami/runtime';
import { startStandalone } from './standalone.js';

const config = loadConfigOrExit(
  { ...commonSettings(), dataDir: path('TEGAMI_DATA_DIR'), domain: string('TEGAMI_DOMAIN') },
  { service: 'standalone' },
);
const logger = createLogger({ service: 'standalone', level: config.logLevel });

const standalone = await exitOnStartupError('could not start', () => startStandalone({ ...config, logger }));

onShutdown(() => standalone.stop(), { timeoutMs: config.shutdownTimeoutMs, logger });

process.stderr.write(`
Tegami is running (data in ${config.dataDir}).

  ops        ${standalone.opsUrl}/healthz  /readyz  /metrics
  domain     ${config.domain}
  SMTP, POP3 and IMAP listeners arrive with their services (see README).

Add the first user, in another terminal:

  pnpm tegami user add alice@${config.domain}

Ctrl-C stops Tegami; the next start reuses the data.
`);
