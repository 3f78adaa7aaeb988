import { parseDomain } from '@tegami/protocol';
import {
  bool,
  durationMs,
  int,
  type MtaStsPublication,
  mtaStsListenerSettings,
  mtaStsPublicationSettings,
  oneOf,
  optional,
  port,
  type Reader,
  slowClientSettings,
  string,
  variable,
} from '@tegami/runtime';
import type { ConnectionCheckSettings } from './connection-checks.js';
import type { SmtpListenerSpec } from './smtp-ingress.js';

/** The SMTP settings, read the same way by the service's main and by the standalone. */
export function smtpSettings() {
  return {
    smtpHost: string('TEGAMI_SMTP_HOST'),
    mxPort: port('TEGAMI_SMTP_MX_PORT'),
    submissionPort: port('TEGAMI_SMTP_SUBMISSION_PORT'),
    submissionsPort: port('TEGAMI_SMTP_SUBMISSIONS_PORT'),
    maxMessageBytes: int('TEGAMI_SMTP_MAX_MESSAGE_BYTES', { min: 1024, max: 1024 * 1024 * 1024 }),
    maxRecipients: int('TEGAMI_SMTP_MAX_RECIPIENTS', { min: 1, max: 100_000 }),
    maxConnections: int('TEGAMI_SMTP_MAX_CONNECTIONS', { min: 1 }),
    maxConnectionsPerAddress: int('TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP', { min: 1 }),
    commandTimeoutMs: durationMs('TEGAMI_SMTP_COMMAND_TIMEOUT_MS', { min: 1000 }),
    dataTimeoutMs: durationMs('TEGAMI_SMTP_DATA_TIMEOUT_MS', { min: 1000 }),
    deadlines: slowClientSettings(),
    allowPlaintextAuth: bool('TEGAMI_SMTP_ALLOW_PLAINTEXT_AUTH'),
    popBeforeSmtpTtlMs: optional(durationMs('TEGAMI_POP_BEFORE_SMTP_TTL', { min: 1000 })),
    connectionChecks: connectionCheckSettings(),
    ...mtaStsListenerSettings(),
    mtaStsPolicy: mtaStsPublicationSettings(),
  };
}

/** The policy host smtp-ingress runs for the local domains, when TEGAMI_MTA_STS_PORT is set. */
export function mtaStsHostOf(config: {
  mtaStsPort?: number | undefined;
  mtaStsTls: boolean;
  mtaStsPolicy: MtaStsPublication;
}) {
  return config.mtaStsPort === undefined
    ? undefined
    : { port: config.mtaStsPort, policy: config.mtaStsPolicy, https: config.mtaStsTls };
}

/** Mail authentication and the spam filter of port 25 (read by the service and the standalone). */
export function inboundCheckSettings() {
  return {
    mailAuth: bool('TEGAMI_MAIL_AUTH'),
    mailAuthTimeoutMs: durationMs('TEGAMI_MAIL_AUTH_TIMEOUT', { min: 100, max: 300_000 }),
    dmarcEnforcement: oneOf('TEGAMI_DMARC_ENFORCEMENT', ['reject', 'quarantine', 'report']),
    arcTrustedSealers: optional(variable('TEGAMI_ARC_TRUSTED_SEALERS', parseDomainNames)),
    rspamdUrl: optional(httpUrl('TEGAMI_RSPAMD_URL')),
    rspamdTimeoutMs: durationMs('TEGAMI_RSPAMD_TIMEOUT', { min: 100, max: 300_000 }),
    rspamdFailure: oneOf('TEGAMI_RSPAMD_FAILURE', ['accept', 'tempfail']),
    recordDmarcResults: bool('TEGAMI_REPORTS'),
  };
}

/** An http(s) base URL, without a trailing slash. */
export function httpUrl(name: string) {
  return variable(name, (value, fail) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('is not a URL (e.g. http://rspamd:11333)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('must be an http:// or https:// URL');
    return url.toString().replace(/\/$/, '');
  });
}

/** TEGAMI_SMTP_DNSBL, TEGAMI_SMTP_REQUIRE_REVERSE_DNS and TEGAMI_SMTP_HELO_CHECKS: port 25 only. */
export function connectionCheckSettings(): Reader<ConnectionCheckSettings> {
  const zones = optional(variable('TEGAMI_SMTP_DNSBL', parseDomainNames));
  const reverseDns = bool('TEGAMI_SMTP_REQUIRE_REVERSE_DNS');
  const helo = bool('TEGAMI_SMTP_HELO_CHECKS');
  return {
    variables: [...zones.variables, ...reverseDns.variables, ...helo.variables],
    read: (lookup) => ({
      dnsblZones: zones.read(lookup) ?? [],
      requireReverseDns: reverseDns.read(lookup),
      heloChecks: helo.read(lookup),
    }),
  };
}

/**
 * `zen.spamhaus.org, bl.example.` → lower-case domain names (DNSBL zones, ARC sealers) without
 * the trailing dot, in order, each once.
 */
export function parseDomainNames(value: string, fail: (problem: string) => never): string[] {
  const zones: string[] = [];
  for (const entry of value.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const parsed = parseDomain(text);
    if (!parsed.ok || !parsed.domain.includes('.'))
      fail(`"${text}" is not a domain name such as zen.spamhaus.org`);
    if (!zones.includes(parsed.domain)) zones.push(parsed.domain);
  }
  return zones;
}

export function smtpListeners(config: {
  mxPort: number;
  submissionPort: number;
  submissionsPort: number;
}): SmtpListenerSpec[] {
  return [
    { name: 'mx', role: 'mx', port: config.mxPort, implicitTls: false },
    { name: 'submission', role: 'submission', port: config.submissionPort, implicitTls: false },
    { name: 'submissions', role: 'submission', port: config.submissionsPort, implicitTls: true },
  ];
}
