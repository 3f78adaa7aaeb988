import { adminSettings } from '@tegami/admin';
import { deliverySettings, toDeliverySettings } from '@tegami/delivery-worker';
import { dnsResolverSettings } from '@tegami/dns-resolver';
import { imapSettings } from '@tegami/imap-gateway';
import { popSettings } from '@tegami/pop-gateway';
import {
  commonSettings,
  createLogger,
  exitOnStartupError,
  int,
  legacySaslSettings,
  loadConfigOrExit,
  loginDelaySettings,
  onShutdown,
  passwordCheckSettings,
  path,
  recipientDelimiterSettings,
  srsSettings,
  string,
  tlsPolicySettings,
} from '@tegami/runtime';
import { inboundCheckSettings, smtpSettings } from '@tegami/smtp-ingress';
import { loginThrottlePolicy } from '@tegami/store';
import { startStandalone } from './standalone.js';

// The standalone's resolver listens on a loopback port of its own choosing.
const { grpcHost: _host, grpcPort: _port, ...dnsSettings } = dnsResolverSettings();
const config = loadConfigOrExit(
  {
    ...commonSettings(),
    dataDir: path('TEGAMI_DATA_DIR'),
    domain: string('TEGAMI_DOMAIN'),
    hostname: string('TEGAMI_HOSTNAME'),
    poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 2, max: 1000 }),
    tlsPolicy: tlsPolicySettings(),
    ...legacySaslSettings(),
    ...srsSettings(),
    ...recipientDelimiterSettings(),
    ...smtpSettings(),
    ...inboundCheckSettings(),
    ...deliverySettings(),
    ...popSettings(),
    ...imapSettings(),
    ...loginDelaySettings(),
    passwordChecks: passwordCheckSettings(),
    ...dnsSettings,
    ...adminSettings(),
  },
  { service: 'standalone' },
);
const logger = createLogger({ service: 'standalone', level: config.logLevel });

const standalone = await exitOnStartupError('could not start', () =>
  startStandalone({
    ...config,
    smtp: config,
    inboundChecks: config,
    delivery: toDeliverySettings(config),
    dns: config,
    pop: config,
    imap: config,
    loginThrottle: loginThrottlePolicy({
      maxDelayMs: config.authFailureDelayMaxMs,
      freeFailures: config.authFreeFailures,
    }),
    legacySasl: config,
    logger,
    progress: (line) => process.stderr.write(`tegami: ${line}\n`),
  }),
);

onShutdown(() => standalone.stop(), { timeoutMs: config.shutdownTimeoutMs, logger });

process.stderr.write(`
Tegami is running (data in ${config.dataDir}).

  ops        ${standalone.opsUrl}/healthz  /readyz  /metrics
${
  standalone.adminUrl
    ? `  admin      ${standalone.adminUrl}/api/v1 (OpenAPI: /api/openapi.json)  console: ${standalone.adminUrl}/console/\n`
    : standalone.adminProblem
      ? `  admin      ${standalone.adminProblem}\n`
      : ''
}  domain     ${config.domain}
  SMTP       ${config.smtpHost}:${standalone.smtp.ports['mx']} (MX)  :${standalone.smtp.ports['submission']} (submission, STARTTLS)  :${standalone.smtp.ports['submissions']} (implicit TLS)
  delivery   into local INBOXes; to other domains by MX (DNS: ${config.upstreams.map((u) => `${u.host}:${u.port}`).join(', ')})
  POP3       ${config.popHost}:${standalone.pop.ports.pop} (STLS)  :${standalone.pop.ports.pops} (implicit TLS)
  IMAP       ${config.imapHost}:${standalone.imap.ports.imap} (STARTTLS)  :${standalone.imap.ports.imaps} (implicit TLS)
  Sieve      ${config.imapHost}:${standalone.imap.ports.managesieve} (ManageSieve, STARTTLS)
${
  standalone.smtp.ports['mta-sts']
    ? `  MTA-STS    https://mta-sts.${config.domain}:${standalone.smtp.ports['mta-sts']}/.well-known/mta-sts.txt (policy host; the TXT record: pnpm tegami mta-sts)\n`
    : ''
}
Add the first user, in another terminal, and send a message:

  pnpm tegami user add alice@${config.domain}
  swaks --server 127.0.0.1:${standalone.smtp.ports['submission']} --tls --auth PLAIN \\
        --auth-user alice@${config.domain} --from alice@${config.domain} --to alice@${config.domain}

Then follow it with \`pnpm tegami trace <queue id>\`. Ctrl-C stops Tegami; the next start reuses the data.
${
  standalone.adminUrl
    ? `
The admin API and the web console want a token (printed once, keep it):

  pnpm tegami admin token create <name>

then open ${standalone.adminUrl}/console/ and paste it, or
  curl -H 'Authorization: Bearer <token>' ${standalone.adminUrl}/api/v1/stats
`
    : ''
}`);
