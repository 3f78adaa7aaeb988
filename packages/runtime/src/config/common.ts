import { LOG_LEVELS } from '../logger.js';
import { type CidrList, type ProxyPolicy, parseCidrList } from '../proxy-protocol.js';
import { isUsableCipherString, type TlsPolicy } from '../tls.js';
import { ConfigError } from './config-error.js';
import {
  bool,
  durationMs,
  echo,
  int,
  natsUrl,
  oneOf,
  optional,
  path,
  port,
  postgresUrl,
  type Reader,
  string,
  variable,
} from './read.js';

/**
 * The settings every long-running program reads the same way (logging, the ops server,
 * shutdown), so each main.ts spreads these into its spec instead of repeating them.
 */
export function commonSettings() {
  return {
    logLevel: oneOf('TEGAMI_LOG_LEVEL', LOG_LEVELS),
    opsHost: string('TEGAMI_OPS_HOST'),
    opsPort: port('TEGAMI_OPS_PORT'),
    shutdownTimeoutMs: durationMs('TEGAMI_SHUTDOWN_TIMEOUT_MS', { min: 0, max: 3_600_000 }),
  };
}

/** How long a trusted load balancer has to send its PROXY header after connecting. */
const PROXY_HEADER_TIMEOUT_MS = 5_000;

/**
 * TEGAMI_PROXY_PROTOCOL and TEGAMI_PROXY_TRUSTED_CIDRS as the policy the socket side
 * applies (smtp-ingress, pop-gateway, imap-gateway). Turning it on without saying whom to
 * trust is refused: trusting everyone would let any client claim any address.
 */
export function proxyProtocolSettings(): Reader<ProxyPolicy> {
  const enabled = bool('TEGAMI_PROXY_PROTOCOL');
  const trusted = optional(
    variable('TEGAMI_PROXY_TRUSTED_CIDRS', (value, fail): CidrList => {
      try {
        return parseCidrList(value);
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err));
      }
    }),
  );
  return {
    variables: [...enabled.variables, ...trusted.variables],
    read(lookup) {
      const on = enabled.read(lookup);
      const list = trusted.read(lookup) ?? parseCidrList('');
      if (on && list.entries.length === 0) {
        throw new ConfigError(
          'TEGAMI_PROXY_TRUSTED_CIDRS',
          'not set, but TEGAMI_PROXY_PROTOCOL is true: name the load balancers that may send PROXY headers',
        );
      }
      return { enabled: on, trusted: list, timeoutMs: PROXY_HEADER_TIMEOUT_MS };
    },
  };
}

/**
 * TEGAMI_TLS_CIPHERS and TEGAMI_TLS_MIN_VERSION as the policy of every server-side TLS
 * context (tls.ts createTlsContextOptions): smtp-ingress, pop-gateway, imap-gateway.
 */
export function tlsPolicySettings(): Reader<TlsPolicy> {
  const ciphers = variable('TEGAMI_TLS_CIPHERS', (value, fail) =>
    isUsableCipherString(value)
      ? value
      : fail(
          `an OpenSSL cipher string that selects no cipher (${echo(value)}); see \`openssl ciphers -v '<string>'\``,
        ),
  );
  const minVersion = oneOf('TEGAMI_TLS_MIN_VERSION', ['TLSv1.2', 'TLSv1.3'] as const);
  return {
    variables: [...ciphers.variables, ...minVersion.variables],
    read: (lookup) => ({ ciphers: ciphers.read(lookup), minVersion: minVersion.read(lookup) }),
  };
}

/**
 * TEGAMI_SECRETS_KEY_FILE and TEGAMI_SASL_LEGACY_MECHANISMS, read alike by the services that
 * take logins, the standalone and the CLI; store's prepareLegacySasl turns them into a policy.
 */
export function legacySaslSettings() {
  return {
    secretsKeyFile: optional(path('TEGAMI_SECRETS_KEY_FILE', { mustExist: 'file' })),
    saslLegacyMechanisms: optional(bool('TEGAMI_SASL_LEGACY_MECHANISMS')),
  };
}

/**
 * What every service that handles mail reads alike: Postgres, NATS and the name it greets
 * with (all but the dns-resolver).
 */
export function mailServiceSettings() {
  return {
    databaseUrl: postgresUrl('DATABASE_URL'),
    poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 1000 }),
    natsServers: natsUrl('NATS_URL'),
    natsPrefix: string('TEGAMI_NATS_PREFIX'),
    hostname: string('TEGAMI_HOSTNAME'),
  };
}
