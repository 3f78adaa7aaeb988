import { readFileSync } from 'node:fs';
import { type ReportConfig, reportSettings } from '@tegami/reports';
import {
  bool,
  ConfigError,
  durationMs,
  int,
  optional,
  path,
  port,
  type RetentionSettings,
  retentionSettings,
  string,
} from '@tegami/runtime';
import type { RetrySchedule } from './retry-schedule.js';

/**
 * The delivery settings, read the same way by the service's main and by the standalone (which
 * spreads them beside smtp-ingress's: no key may be one of those).
 */
export function deliverySettings() {
  return {
    concurrency: int('TEGAMI_DELIVERY_CONCURRENCY', { min: 1, max: 1000 }),
    smtpPort: port('TEGAMI_DELIVERY_SMTP_PORT'),
    bindAddress: optional(string('TEGAMI_DELIVERY_BIND_ADDRESS')),
    connectTimeoutMs: durationMs('TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS', { min: 100 }),
    smtpTimeoutMs: durationMs('TEGAMI_DELIVERY_SMTP_TIMEOUT_MS', { min: 100 }),
    tlsVerify: bool('TEGAMI_DELIVERY_TLS_VERIFY'),
    tlsCaFile: optional(path('TEGAMI_DELIVERY_TLS_CA_FILE', { mustExist: 'file' })),
    applyMtaSts: bool('TEGAMI_DELIVERY_MTA_STS'),
    mtaStsFetchTimeoutMs: durationMs('TEGAMI_DELIVERY_MTA_STS_TIMEOUT_MS', { min: 100 }),
    mtaStsFetchPort: port('TEGAMI_DELIVERY_MTA_STS_PORT'),
    applyDane: bool('TEGAMI_DELIVERY_DANE'),
    retryMinMs: durationMs('TEGAMI_DELIVERY_RETRY_MIN_MS', { min: 100 }),
    retryMaxMs: durationMs('TEGAMI_DELIVERY_RETRY_MAX_MS', { min: 100 }),
    maxQueueTimeMs: durationMs('TEGAMI_DELIVERY_MAX_QUEUE_TIME_MS', { min: 1000 }),
    delayWarningMs: durationMs('TEGAMI_DELIVERY_DELAY_WARNING_MS', { min: 0 }),
    domainConnections: int('TEGAMI_DELIVERY_DOMAIN_CONNECTIONS', { min: 1, max: 10_000 }),
    reports: bool('TEGAMI_REPORTS'),
    ...reportSettings(),
    retention: retentionSettings(),
    maintenanceIntervalMs: durationMs('TEGAMI_RETENTION_INTERVAL', { min: 1000 }),
  };
}

export interface DeliverySettings {
  readonly concurrency: number;
  readonly smtpPort: number;
  readonly bindAddress?: string | undefined;
  readonly connectTimeoutMs: number;
  readonly smtpTimeoutMs: number;
  readonly tlsVerify: boolean;
  /** PEM of the extra CA(s) (TEGAMI_DELIVERY_TLS_CA_FILE), read at start. */
  readonly extraCa?: string | undefined;
  /** MTA-STS on (RFC 8461), with the fetch's time limit and the policy host's port. */
  readonly mtaSts?: { readonly timeoutMs: number; readonly port: number } | undefined;
  /** DANE (RFC 7672); on unless false. */
  readonly dane?: boolean | undefined;
  readonly schedule: RetrySchedule;
  readonly delayWarningMs: number;
  readonly domainConnections: number;
  /** TLS-RPT and DMARC aggregate reports (TEGAMI_REPORTS): off when absent. */
  readonly reports?: ReportConfig | undefined;
  /** Retention and blob collection (TEGAMI_RETENTION_*), every intervalMs: off when absent. */
  readonly maintenance?: MaintenanceSettings | undefined;
  /**
   * TEGAMI_RECIPIENT_DELIMITER: user+tag@domain is delivered to user@domain (RFC 5233) and
   * its Sieve script sees the tag as :detail; '' turns that off. Default '+'.
   */
  readonly recipientDelimiter?: string | undefined;
}

export interface MaintenanceSettings extends RetentionSettings {
  readonly intervalMs: number;
}

export function toDeliverySettings(read: {
  concurrency: number;
  smtpPort: number;
  bindAddress?: string | undefined;
  connectTimeoutMs: number;
  smtpTimeoutMs: number;
  tlsVerify: boolean;
  tlsCaFile?: string | undefined;
  applyMtaSts: boolean;
  mtaStsFetchTimeoutMs: number;
  mtaStsFetchPort: number;
  applyDane: boolean;
  retryMinMs: number;
  retryMaxMs: number;
  maxQueueTimeMs: number;
  delayWarningMs: number;
  domainConnections: number;
  reports?: boolean;
  reportFrom?: string | undefined;
  reportOrgName?: string | undefined;
  reportContact?: string | undefined;
  retention?: RetentionSettings | undefined;
  maintenanceIntervalMs?: number | undefined;
  recipientDelimiter?: string | undefined;
}): DeliverySettings {
  return {
    concurrency: read.concurrency,
    smtpPort: read.smtpPort,
    bindAddress: read.bindAddress,
    connectTimeoutMs: read.connectTimeoutMs,
    smtpTimeoutMs: read.smtpTimeoutMs,
    tlsVerify: read.tlsVerify,
    extraCa: read.tlsCaFile ? readCaFile(read.tlsCaFile) : undefined,
    mtaSts: read.applyMtaSts
      ? { timeoutMs: read.mtaStsFetchTimeoutMs, port: read.mtaStsFetchPort }
      : undefined,
    dane: read.applyDane,
    schedule: {
      minMs: read.retryMinMs,
      maxMs: Math.max(read.retryMinMs, read.retryMaxMs),
      lifetimeMs: read.maxQueueTimeMs,
    },
    delayWarningMs: read.delayWarningMs,
    domainConnections: read.domainConnections,
    ...(read.reports && {
      reports: {
        reportFrom: read.reportFrom,
        reportOrgName: read.reportOrgName,
        reportContact: read.reportContact,
      },
    }),
    ...(read.retention &&
      read.maintenanceIntervalMs !== undefined && {
        maintenance: { ...read.retention, intervalMs: read.maintenanceIntervalMs },
      }),
    ...(read.recipientDelimiter !== undefined && { recipientDelimiter: read.recipientDelimiter }),
  };
}

/** The extra CA file's certificates; a file with none is a configuration error, not an empty trust list. */
function readCaFile(file: string): string {
  const pem = readFileSync(file, 'utf8');
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) {
    throw new ConfigError('TEGAMI_DELIVERY_TLS_CA_FILE', `${file} holds no PEM certificate`);
  }
  return `${certificates.join('\n')}\n`;
}
