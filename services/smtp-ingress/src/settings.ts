import { parseDomain } from '@tegami/protocol';
import {
  bool,
  durationMs,
  int,
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
  };
}

/** TEGAMI_SMTP_DNSBL, TEGAMI_SMTP_REQUIRE_REVERSE_DNS and TEGAMI_SMTP_HELO_CHECKS: port 25 only. */
export function connectionCheckSettings(): Reader<ConnectionCheckSettings> {
  const zones = optional(variable('TEGAMI_SMTP_DNSBL', parseDnsblZones));
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

/** `zen.spamhaus.org, bl.example.` → lower-case zone names without the trailing dot, in order. */
export function parseDnsblZones(value: string, fail: (problem: string) => never): string[] {
  const zones: string[] = [];
  for (const entry of value.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const parsed = parseDomain(text);
    if (!parsed.ok || !parsed.domain.includes('.'))
      fail(`"${text}" is not a DNS zone name such as zen.spamhaus.org`);
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
