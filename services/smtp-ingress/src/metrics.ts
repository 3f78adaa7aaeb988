import { SMTP_COMMAND_LABELS } from '@tegami/protocol';
import { createCommandMetrics, createErrorCounter } from '@tegami/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type SmtpMetrics = ReturnType<typeof createSmtpMetrics>;

export function createSmtpMetrics(registry: Registry) {
  const registers = [registry];
  return {
    connections: new Counter({
      name: 'tegami_smtp_connections_total',
      help: 'SMTP connections accepted, by listener and whether TLS was in use at the end',
      labelNames: ['listener', 'tls'] as const,
      registers,
    }),
    activeConnections: new Gauge({
      name: 'tegami_smtp_connections_active',
      help: 'SMTP connections open now',
      labelNames: ['listener'] as const,
      registers,
    }),
    refusedConnections: new Counter({
      name: 'tegami_smtp_connections_refused_total',
      help: 'Connections refused with 421 at connect, by reason',
      labelNames: ['listener', 'reason'] as const,
      registers,
    }),
    transactions: new Counter({
      name: 'tegami_smtp_transactions_total',
      help: 'Messages answered after DATA or BDAT LAST, by listener, result and reply code',
      labelNames: ['listener', 'result', 'code'] as const,
      registers,
    }),
    messageSize: new Histogram({
      name: 'tegami_smtp_message_size_bytes',
      help: 'Size of accepted messages',
      buckets: [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 50_000_000],
      registers,
    }),
    queueLatency: new Histogram({
      name: 'tegami_smtp_queue_latency_seconds',
      help: 'Time from the end of DATA to the 250 (stored in Postgres and acknowledged by JetStream)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    auth: new Counter({
      name: 'tegami_smtp_auth_total',
      help: 'AUTH attempts by mechanism and result',
      labelNames: ['mechanism', 'result'] as const,
      registers,
    }),
    authResults: new Counter({
      name: 'tegami_auth_results_total',
      help: 'Results of the checks of mail received on port 25, by method (spf, spf_helo, dkim per signature, dmarc, arc) and result (RFC 8601)',
      labelNames: ['method', 'result'] as const,
      registers,
    }),
    spamActions: new Counter({
      name: 'tegami_spam_actions_total',
      help: "The spam filter's action on mail received on port 25 (no_action, add_header, rewrite_subject, greylist, soft_reject, reject), or unscanned when it could not answer",
      labelNames: ['action'] as const,
      registers,
    }),
    connectionChecks: new Counter({
      name: 'tegami_smtp_connection_checks_total',
      help: 'Port-25 client checks by outcome, once per check and connection (HELO: per name): pass, listed (DNSBL), refused, tempfail (answered 450), error (lookup failed: let through)',
      labelNames: ['check', 'result'] as const,
      registers,
    }),
    /** By verb (the protocol's command table, and INVALID) and the class of the last reply. */
    commands: createCommandMetrics(registry, 'smtp', new Set<string>(SMTP_COMMAND_LABELS)),
    errors: createErrorCounter(registry),
  };
}
