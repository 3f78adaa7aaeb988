import { Counter, Histogram, type Registry } from 'prom-client';

// Metrics every protocol service shares, under one naming scheme, so the chart's dashboard
// reads SMTP, POP3 and IMAP the same way: commands by name and result, how long they took, and
// errors by kind.

export interface CommandMetrics {
  /** One answered command; names outside `known` are counted as OTHER (bounded labels). */
  observe(command: string, result: string, seconds: number): void;
}

const PROTOCOL_NAMES = { imap: 'IMAP', pop: 'POP3', smtp: 'SMTP', managesieve: 'ManageSieve' } as const;

/** `tegami_<protocol>_commands_total{command,result}` and `…_command_duration_seconds{command}`. */
export function createCommandMetrics(
  registry: Registry,
  protocol: keyof typeof PROTOCOL_NAMES,
  known: ReadonlySet<string>,
): CommandMetrics {
  const registers = [registry];
  const protocolName = PROTOCOL_NAMES[protocol];
  const commands = new Counter({
    name: `tegami_${protocol}_commands_total`,
    help: `${protocolName} commands answered, by command and result`,
    labelNames: ['command', 'result'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `tegami_${protocol}_command_duration_seconds`,
    help: `Time from reading a ${protocolName} command to its answer, by command`,
    labelNames: ['command'] as const,
    // From a cached FLAGS fetch (under a millisecond) to a large FETCH or APPEND.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    observe(command, result, seconds) {
      const name = known.has(command) ? command : 'OTHER';
      commands.inc({ command: name, result: result.toLowerCase() });
      duration.observe({ command: name }, seconds);
    },
  };
}

export type ErrorKind = 'storage' | 'bus' | 'session' | 'delivery';

/** `tegami_errors_total{kind}`: failures an operator should look at, in every service. */
export function createErrorCounter(registry: Registry): Counter<'kind'> {
  // One per registry: the standalone's services share theirs.
  const existing = registry.getSingleMetric('tegami_errors_total');
  if (existing) return existing as Counter<'kind'>;
  return new Counter({
    name: 'tegami_errors_total',
    help: 'Errors by kind: storage (Postgres), bus (NATS), session (a protocol session failed), delivery (a job failed unexpectedly)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
}
