import {
  bool,
  durationMs,
  int,
  oneOf,
  optional,
  port,
  slowClientSettings,
  string,
  variable,
} from '@tegami/runtime';
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
  };
}

/** Mail authentication and the spam filter of port 25 (read by the service and the standalone). */
export function inboundCheckSettings() {
  return {
    mailAuth: bool('TEGAMI_MAIL_AUTH'),
    mailAuthTimeoutMs: durationMs('TEGAMI_MAIL_AUTH_TIMEOUT', { min: 100, max: 300_000 }),
    dmarcEnforcement: oneOf('TEGAMI_DMARC_ENFORCEMENT', ['reject', 'quarantine', 'report']),
    arcTrustedSealers: optional(domainList('TEGAMI_ARC_TRUSTED_SEALERS')),
    rspamdUrl: optional(httpUrl('TEGAMI_RSPAMD_URL')),
    rspamdTimeoutMs: durationMs('TEGAMI_RSPAMD_TIMEOUT', { min: 100, max: 300_000 }),
    rspamdFailure: oneOf('TEGAMI_RSPAMD_FAILURE', ['accept', 'tempfail']),
  };
}

/** Comma-separated domain names, lower case, without a trailing dot. */
function domainList(name: string) {
  return variable(name, (value, fail) => {
    const domains = value
      .split(',')
      .map((d) => d.trim().toLowerCase().replace(/\.$/, ''))
      .filter((d) => d !== '');
    const bad = domains.find((d) => !/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(d));
    if (bad !== undefined) fail(`${JSON.stringify(bad)} is not a domain name`);
    return domains;
  });
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
