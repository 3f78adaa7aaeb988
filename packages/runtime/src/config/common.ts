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
 * The per-account login delay (TEGAMI_AUTH_FAILURE_DELAY_MAX, TEGAMI_AUTH_FREE_FAILURES),
 * read alike by the three services that take logins and by the standalone.
 */
export function loginDelaySettings() {
  return {
    authFailureDelayMaxMs: durationMs('TEGAMI_AUTH_FAILURE_DELAY_MAX', { min: 0, max: 120_000 }),
    authFreeFailures: int('TEGAMI_AUTH_FREE_FAILURES', { min: 0, max: 1000 }),
  };
}

export const AUTH_CACHE_PROTOCOLS = ['imap', 'pop3', 'smtp'] as const;
export type AuthCacheProtocol = (typeof AUTH_CACHE_PROTOCOLS)[number];

/** How the services that take logins check cleartext passwords. */
export interface PasswordCheckSettings {
  /** How long a verified password stands in the cache (0: no cache). */
  readonly cacheTtlMs: number;
  /** Accounts the cache holds at most, per process. */
  readonly cacheSize: number;
  /** The protocols whose logins use the cache. */
  readonly cacheProtocols: readonly AuthCacheProtocol[];
  /** log2 N of the scrypt verifiers written (new passwords, rehash at login). */
  readonly scryptLn: number;
}

/**
 * TEGAMI_AUTH_CACHE_TTL, TEGAMI_AUTH_CACHE_SIZE, TEGAMI_AUTH_CACHE_PROTOCOLS and
 * TEGAMI_PASSWORD_SCRYPT_LN: read alike by the three services that take logins and the
 * standalone (the verified-credential cache is @tegami/protocol's VerifiedPasswordCache).
 */
export function passwordCheckSettings(): Reader<PasswordCheckSettings> {
  const ttl = durationMs('TEGAMI_AUTH_CACHE_TTL', { min: 0, max: 86_400_000 });
  const size = int('TEGAMI_AUTH_CACHE_SIZE', { min: 0, max: 10_000_000 });
  const protocols = authCacheProtocols();
  const scryptLn = scryptCostSetting();
  return {
    variables: [...ttl.variables, ...size.variables, ...protocols.variables, ...scryptLn.variables],
    read: (lookup) => ({
      cacheTtlMs: ttl.read(lookup),
      cacheSize: size.read(lookup),
      cacheProtocols: protocols.read(lookup),
      scryptLn: scryptLn.read(lookup),
    }),
  };
}

/** TEGAMI_PASSWORD_SCRYPT_LN alone (the CLI writes verifiers but takes no logins). */
export function scryptCostSetting() {
  // The range of @tegami/protocol's SCRYPT_LN_RANGE (runtime does not load protocol).
  return int('TEGAMI_PASSWORD_SCRYPT_LN', { min: 14, max: 20 });
}

function authCacheProtocols() {
  return variable('TEGAMI_AUTH_CACHE_PROTOCOLS', (value, fail): AuthCacheProtocol[] => {
    const words = value
      .split(',')
      .map((word) => word.trim().toLowerCase())
      .filter((word) => word !== '' && word !== 'none');
    for (const word of words) {
      if (!(AUTH_CACHE_PROTOCOLS as readonly string[]).includes(word))
        fail(`${echo(word)} is not one of ${AUTH_CACHE_PROTOCOLS.join(', ')} (or none)`);
    }
    return [...new Set(words)] as AuthCacheProtocol[];
  });
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
    startupWaitMs: durationMs('TEGAMI_STARTUP_WAIT_MS', { min: 0, max: 3_600_000 }),
  };
}

/** What a slow client is allowed (the engines' TransferLimits / InputDeadlines). */
export interface SlowClientLimits {
  readonly lineMs: number;
  readonly minBytesPerSecond: number;
}

/**
 * TEGAMI_COMMAND_LINE_DEADLINE and TEGAMI_MIN_DATA_RATE: one pair for SMTP, POP3 and IMAP,
 * since what a slow link or a human at a telnet prompt needs does not depend on the
 * protocol (the idle timeouts stay per protocol: their RFCs differ).
 */
export function slowClientSettings(): Reader<SlowClientLimits> {
  const line = durationMs('TEGAMI_COMMAND_LINE_DEADLINE', { min: 1000 });
  const rate = int('TEGAMI_MIN_DATA_RATE', { min: 1 });
  return {
    variables: [...line.variables, ...rate.variables],
    read: (lookup) => ({ lineMs: line.read(lookup), minBytesPerSecond: rate.read(lookup) }),
  };
}

export interface LoginClientLimits extends SlowClientLimits {
  readonly loginMs: number;
}

/** The same and TEGAMI_LOGIN_DEADLINE, for POP3 and IMAP. */
export function loginClientSettings(): Reader<LoginClientLimits> {
  const slow = slowClientSettings();
  const login = durationMs('TEGAMI_LOGIN_DEADLINE', { min: 1000 });
  return {
    variables: [...slow.variables, ...login.variables],
    read: (lookup) => ({ ...slow.read(lookup), loginMs: login.read(lookup) }),
  };
}
