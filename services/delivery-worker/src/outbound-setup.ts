import type { MailBus } from '@tegami/bus';
import type { SrsOptions } from '@tegami/protocol';
import type { ResolverClient } from '@tegami/rpc';
import type { Logger } from '@tegami/runtime';
import type { SecretsKeyring } from '@tegami/store';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { arcSealKeys } from './arc-keys.js';
import { dkimSigning } from './dkim-signing.js';
import { domainSlots } from './domain-slots.js';
import { forwardingDeps } from './forwarding.js';
import type { DeliveryMetrics } from './metrics.js';
import { type DeliveryReportDeps, startDeliveryReports } from './report-schedule.js';
import type { DeliverySettings } from './settings.js';
import type { TlsOutcome } from './tls-policy.js';
import { outboundTlsPolicy } from './tls-policy-wiring.js';

// What mail leaving for other domains goes through, built once per worker from its deps:
// DKIM signing, SRS and ARC for forwarded copies, the TLS policies (DANE, MTA-STS) and the
// connection slots per domain, and the counting and sending of TLS-RPT and DMARC reports.

/** The part of the worker's deps that outbound delivery uses (DeliveryWorkerDeps has them). */
export interface OutboundDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly resolver: Pick<ResolverClient, 'resolveMx' | 'resolveAddresses' | 'resolveTxt' | 'resolveTlsa'>;
  readonly hostname: string;
  readonly logger: Logger;
  readonly settings: DeliverySettings;
  readonly metrics?: Registry | undefined;
  readonly onTlsOutcome?: ((outcome: TlsOutcome) => void) | undefined;
  readonly reports?: DeliveryReportDeps | undefined;
  readonly srs?: SrsOptions | undefined;
  readonly secretsKeyring?: SecretsKeyring | undefined;
}

export function outboundSetup(
  deps: OutboundDeps,
  worker: {
    readonly workerId: string;
    readonly localDomains: () => Promise<string[]>;
    readonly metrics: DeliveryMetrics | undefined;
  },
) {
  const { pool, bus, logger, settings } = deps;
  const { workerId, localDomains, metrics } = worker;
  const dkim = dkimSigning({
    pool,
    keyring: deps.secretsKeyring,
    localDomains,
    logger,
    metrics: deps.metrics,
  });

  const withDomainSlot = domainSlots(pool, settings.domainConnections, workerId);
  const reports =
    settings.reports && deps.reports
      ? startDeliveryReports({
          pool,
          bus,
          logger,
          hostname: deps.hostname,
          worker: workerId,
          config: settings.reports,
          reports: deps.reports,
          extraCa: settings.extraCa,
        })
      : undefined;
  const forwarding = forwardingDeps({
    hostname: deps.hostname,
    srs: deps.srs,
    arcKey: arcSealKeys(pool, deps.secretsKeyring),
    logger,
  });

  // Counted for our own TLS-RPT reports, and told to whoever else listens (tests).
  const onTlsOutcome =
    reports || deps.onTlsOutcome
      ? (outcome: TlsOutcome) => {
          reports?.countTlsOutcome(outcome);
          deps.onTlsOutcome?.(outcome);
        }
      : undefined;
  const remoteDeps = {
    resolver: deps.resolver,
    port: settings.smtpPort,
    smtp: {
      hostname: deps.hostname,
      localAddress: settings.bindAddress,
      connectTimeoutMs: settings.connectTimeoutMs,
      smtpTimeoutMs: settings.smtpTimeoutMs,
      tlsVerify: settings.tlsVerify,
      extraCa: settings.extraCa,
    },
    withDomainSlot,
    onConnection: (domain: string, delta: 1 | -1) => metrics?.domainConnections.inc({ domain }, delta),
    tlsPolicy: outboundTlsPolicy({ pool, resolver: deps.resolver, settings, logger, onTlsOutcome }),
    onTlsOutcome,
  };

  return { dkim, reports, forwarding, remoteDeps };
}
