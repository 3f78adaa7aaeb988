/**
 * The one catalogue of every environment variable Tegami reads. The readers in read.ts take
 * their defaults from here and refuse a name that is missing, the unknown-setting check
 * accepts exactly these `TEGAMI_*` names, and the README's configuration table is rendered
 * from it: a new setting is one entry below and nowhere else.
 */

import { hostname } from 'node:os';

export type ServiceName =
  | 'smtp-ingress'
  | 'delivery-worker'
  | 'dns-resolver'
  | 'pop-gateway'
  | 'imap-gateway'
  | 'standalone'
  | 'cli';

/** A default that depends on the machine, so the table shows words and the reader computes it. */
export interface ComputedDefault {
  readonly text: string;
  readonly compute: () => string;
}

export interface VariableSpec {
  readonly name: string;
  /** Used when the variable is unset or empty. No default: the reader decides (required or optional). */
  readonly default?: string | ComputedDefault;
  /** Replaces `default` when the standalone reads the variable (it binds loopback, for one). */
  readonly standaloneDefault?: string;
  readonly description: string;
  readonly services: readonly ServiceName[];
}

// Groups of services, so each entry below says who reads it without a long list.
const STORE_USERS = ['smtp-ingress', 'delivery-worker', 'pop-gateway', 'imap-gateway'] as const;
const BUS_USERS = STORE_USERS;
const SERVICES = ['smtp-ingress', 'delivery-worker', 'dns-resolver', 'pop-gateway', 'imap-gateway'] as const;
const PROGRAMS = [...SERVICES, 'standalone'] as const;
const TLS_SERVERS = ['smtp-ingress', 'pop-gateway', 'imap-gateway', 'standalone'] as const;
const SMTP = ['smtp-ingress', 'standalone'] as const;
const GREETERS = ['smtp-ingress', 'delivery-worker', 'pop-gateway', 'imap-gateway', 'standalone'] as const;

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: 'DATABASE_URL',
    description:
      "Postgres connection URL of the message store (`postgres://user:password@host:5432/tegami`; percent-encode special characters in the password). Required by the services; the CLI falls back to the standalone's embedded database when it is unset. The standalone embeds its own Postgres and ignores it.",
    services: [...STORE_USERS, 'cli'],
  },
  {
    name: 'NATS_URL',
    default: 'nats://127.0.0.1:4222',
    description:
      'NATS server(s): `nats://` or `tls://` URLs, comma-separated. The standalone uses an in-process bus instead; `tegami check` checks it when `DATABASE_URL` is set.',
    services: [...BUS_USERS, 'cli'],
  },
  {
    name: 'TEGAMI_NATS_PREFIX',
    default: 'tegami',
    description:
      'Prefix of every NATS subject and stream name, so several installations (or test runs) share one NATS server.',
    services: [...BUS_USERS, 'cli'],
  },
  {
    name: 'TEGAMI_LOG_LEVEL',
    default: 'info',
    description:
      'Log level of the JSON logs on standard output: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_OPS_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the ops HTTP server (`/healthz`, `/readyz`, `/metrics`) listens on.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_OPS_PORT',
    default: '8080',
    description: 'Port of the ops HTTP server (0 picks a free one).',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_SHUTDOWN_TIMEOUT_MS',
    default: '30000',
    description:
      'How long a graceful shutdown (SIGTERM, SIGINT) may take before the process exits with code 1. Milliseconds, or with a unit: `30s`, `2m`.',
    services: PROGRAMS,
  },
  {
    name: 'TEGAMI_TLS_CERT_FILE',
    description:
      'PEM certificate (chain) for STARTTLS, STLS and the implicit-TLS ports. Set it together with `TEGAMI_TLS_KEY_FILE`, or neither. The standalone generates a self-signed one for `localhost` when neither is set.',
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_TLS_KEY_FILE',
    description: 'PEM private key of `TEGAMI_TLS_CERT_FILE` (unencrypted).',
    services: TLS_SERVERS,
  },
  {
    name: 'TEGAMI_DATA_DIR',
    default: './data',
    description:
      'Standalone state: the embedded Postgres data and its socket, and the generated TLS certificate. The CLI looks here for the embedded database when `DATABASE_URL` is unset.',
    services: ['standalone', 'cli'],
  },
  {
    name: 'TEGAMI_DOMAIN',
    default: 'localhost',
    description: 'The local mail domain the standalone creates on its first start.',
    services: ['standalone'],
  },
  {
    name: 'TEGAMI_HOSTNAME',
    default: { text: 'the host name of the machine', compute: hostname },
    description: 'The name the servers greet with and the delivery worker says in EHLO.',
    services: GREETERS,
  },
  {
    name: 'TEGAMI_SMTP_HOST',
    default: '0.0.0.0',
    standaloneDefault: '127.0.0.1',
    description: 'Address the SMTP listeners bind.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MX_PORT',
    default: '25',
    standaloneDefault: '2525',
    description: 'Port for mail from the Internet (MX): local recipients only, no AUTH.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_SUBMISSION_PORT',
    default: '587',
    standaloneDefault: '2587',
    description:
      'Submission port (RFC 6409): AUTH required, relays anywhere; STARTTLS when a certificate is set.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_SUBMISSIONS_PORT',
    default: '465',
    standaloneDefault: '2465',
    description: 'Submission over implicit TLS (RFC 8314); not started without a certificate.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_MESSAGE_BYTES',
    default: '26214400',
    description: 'Largest message accepted (advertised as SIZE); larger ones get `552 5.3.4`.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_RECIPIENTS',
    default: '100',
    description: 'Recipients per message (RFC 5321 asks for at least 100); more get `452 4.5.3`.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_CONNECTIONS',
    default: '1000',
    description: 'Open SMTP connections per process; more are answered `421` and closed.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP',
    default: '20',
    description: 'Open SMTP connections per client address; more are answered `421` and closed.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_COMMAND_TIMEOUT_MS',
    default: '300000',
    description: 'How long the server waits for the next command (RFC 5321 §4.5.3.2: at least 5 minutes).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_DATA_TIMEOUT_MS',
    default: '180000',
    description: 'How long the server waits for the next piece of a message (RFC 5321 §4.5.3.2: 3 minutes).',
    services: SMTP,
  },
  {
    name: 'TEGAMI_SMTP_ALLOW_PLAINTEXT_AUTH',
    default: 'false',
    description:
      'Allow AUTH PLAIN and LOGIN without TLS from any address (they are always allowed on loopback). Leave off unless a trusted proxy terminates TLS.',
    services: SMTP,
  },
  {
    name: 'TEGAMI_DB_POOL_SIZE',
    default: '10',
    description: 'Most Postgres connections each process opens.',
    services: STORE_USERS,
  },
];

const BY_NAME = new Map(VARIABLES.map((v) => [v.name, v]));

export function findVariable(name: string): VariableSpec | undefined {
  return BY_NAME.get(name);
}

export function variablesFor(service: ServiceName): VariableSpec[] {
  return VARIABLES.filter((v) => v.services.includes(service));
}

/** The text the configuration table shows for a default. */
export function describeDefault(spec: VariableSpec): string {
  const base =
    spec.default === undefined
      ? ''
      : typeof spec.default === 'string'
        ? code(spec.default)
        : spec.default.text;
  if (spec.standaloneDefault === undefined) return base;
  return `${base} (standalone: ${code(spec.standaloneDefault)})`;
}

/** The README's configuration table, in Markdown. */
export function renderConfigTable(variables: readonly VariableSpec[] = VARIABLES): string {
  const rows = variables.map((v) =>
    [code(v.name), describeDefault(v) || '—', v.services.join(', '), v.description].map(cell).join(' | '),
  );
  return [
    '| Variable | Default | Used by | Description |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ]
    .join('\n')
    .concat('\n');
}

function code(text: string): string {
  return `\`${text}\``;
}

// A pipe would end the cell early and a newline the row.
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
