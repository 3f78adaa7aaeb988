import { connectNatsBus } from '@tegami/bus';
import { isStoreOutage } from '@tegami/protocol';
import { cachedResolverClient, createResolverClient } from '@tegami/rpc';
import {
  drainTimeoutOf,
  legacySaslSettings,
  loadTlsFromFiles,
  loginDelaySettings,
  mailServiceSettings,
  passwordCheckSettings,
  proxyProtocolSettings,
  recipientDelimiterSettings,
  runService,
  srsSettings,
  string,
  tlsFiles,
  tlsPolicySettings,
  untilAvailable,
} from '@tegami/runtime';
import {
  applyPasswordChecks,
  loadSrsSecrets,
  loginThrottlePolicy,
  openServiceStore,
  prepareLegacySasl,
  sweepAbandoned,
} from '@tegami/store';
import { inboundChecks } from './inbound-setup.js';
import { inboundCheckSettings, mtaStsHostOf, smtpListeners, smtpSettings } from './settings.js';
import { startSmtpIngress } from './smtp-ingress.js';

// Every 'accepting' row older than this had its client told 451 long ago. This ingress
// writes none (its rows are committed 'queued', after the PubAck); an older one, still
// running during a rolling upgrade, may have left some behind.
const ABANDONED_AFTER_MS = 10 * 60_000;

const settings = {
  ...smtpSettings(),
  ...mailServiceSettings(),
  ...loginDelaySettings(),
  passwordChecks: passwordCheckSettings(),
  tlsFiles: tlsFiles(),
  tlsPolicy: tlsPolicySettings(),
  proxy: proxyProtocolSettings(),
  ...legacySaslSettings(),
  ...inboundCheckSettings(),
  ...srsSettings(),
  ...recipientDelimiterSettings(),
  resolverTarget: string('TEGAMI_RESOLVER_TARGET'),
};

await runService('smtp-ingress', settings, async ({ config, logger, metrics }) => {
  const tls = config.tlsFiles
    ? loadTlsFromFiles(config.tlsFiles.certFile, config.tlsFiles.keyFile)
    : undefined;
  const srs = config.srsSecretFile ? { secrets: loadSrsSecrets(config.srsSecretFile) } : undefined;
  if (!srs)
    logger.info('no TEGAMI_SRS_SECRET_FILE: mail to SRS addresses (bounces of forwarded mail) is refused');
  // Postgres or NATS away as the service starts (a restart of either): wait, unready.
  const store = await untilAvailable(
    'Postgres',
    () =>
      openServiceStore({
        url: config.databaseUrl,
        poolSize: config.poolSize,
        service: 'smtp-ingress',
        warn: (err) => logger.warn({ err }, 'idle Postgres connection failed'),
      }),
    { waitMs: config.startupWaitMs, logger, transient: isStoreOutage },
  );
  // Seals (or, when off, deletes) the stored CRAM-MD5/DIGEST-MD5 secrets before the first login.
  const legacySasl = await prepareLegacySasl(store.pool, config, logger);
  const bus = await untilAvailable(
    'NATS',
    () => connectNatsBus({ servers: config.natsServers, prefix: config.natsPrefix, logger }),
    { waitMs: config.startupWaitMs, logger },
  );
  // SPF, DKIM, DMARC, ARC and the connection checks ask the dns-resolver: one cache and one
  // set of upstreams for the cluster. It connects on its first call.
  // Kept here for their TTLs too: one message asks for what the last one from that sender did.
  const resolver = cachedResolverClient(createResolverClient(config.resolverTarget));
  const ingress = await startSmtpIngress({
    ...config,
    pool: store.pool,
    bus,
    logger,
    metrics,
    host: config.smtpHost,
    tls,
    tlsPolicy: config.tlsPolicy,
    legacySasl,
    passwordCache: applyPasswordChecks(config.passwordChecks)('smtp'),
    resolver,
    listeners: smtpListeners(config),
    mtaSts: mtaStsHostOf(config),
    popBeforeSmtp: config.popBeforeSmtpTtlMs !== undefined,
    drainTimeoutMs: drainTimeoutOf(config.shutdownTimeoutMs),
    inbound: inboundChecks(config, resolver),
    srs,
    loginThrottle: loginThrottlePolicy({
      maxDelayMs: config.authFailureDelayMaxMs,
      freeFailures: config.authFreeFailures,
    }),
  });
  const sweep = setInterval(() => {
    sweepAbandoned(store.pool, ABANDONED_AFTER_MS).then(
      (removed) => removed > 0 && logger.info({ removed }, 'removed abandoned queue rows'),
      (err) => logger.warn({ err }, 'sweep of abandoned queue rows failed'),
    );
  }, 60_000);
  sweep.unref();
  return {
    readiness: { postgres: store.ping, nats: () => bus.ping() },
    async stop() {
      clearInterval(sweep);
      await ingress.stop();
      resolver.close();
      await bus.close();
      await store.close();
    },
  };
});
