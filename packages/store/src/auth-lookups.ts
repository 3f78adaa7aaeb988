import {
  deriveScryptVerifier,
  enabledSaslMechanisms,
  type SaslCredentials,
  type SaslMechanismName,
  scryptCostDiffers,
  setScryptCost,
  VerifiedPasswordCache,
  verifyScrypt,
} from '@tegami/protocol';
import { verifyLegacyPasswordHash } from '@tegami/protocol/legacy-password-hash';
import { type AuthSecrets, findAuthSecrets, replaceScryptVerifier } from './accounts.js';
import type { Queryable } from './db.js';
import { upgradeImportedPassword } from './imported-passwords.js';
import { LEGACY_SASL_OFF, type LegacySaslPolicy } from './legacy-sasl-secrets.js';
import { listLocalDomains } from './recipients.js';
import type { UnsealProblem } from './sealed-secrets.js';

// What every service that takes SASL logins (smtp-ingress, pop-gateway, imap-gateway)
// needs from the accounts: the credential lookup, and the local domains that DIGEST-MD5
// offers as realms, refreshed rather than read per session.

export interface UnreadableLegacySecrets {
  readonly accountId: string;
  readonly address: string;
  readonly keyId: string;
  readonly problem: UnsealProblem;
}

export interface SaslCredentialLookupOptions {
  /** CRAM-MD5 and DIGEST-MD5 on or off, and the key that opens their secrets; off when absent. */
  readonly legacy?: LegacySaslPolicy;
  /**
   * An account whose sealed secrets do not open: called once per account for the life of
   * the lookup (the service logs it), however often its CRAM-MD5/DIGEST-MD5 logins fail.
   */
  readonly onUnreadableLegacySecrets?: (account: UnreadableLegacySecrets) => void;
  /** The verified-credential cache of this process and protocol; every password goes to scrypt when absent. */
  readonly verifiedPasswords?: VerifiedPasswordCache | undefined;
  /**
   * Write a new verifier at this process's scrypt cost (TEGAMI_PASSWORD_SCRYPT_LN) when a
   * password checks out against one of another cost; `onRehash` hears how each went.
   */
  readonly rehash?: boolean;
  readonly onRehash?: (outcome: { readonly accountId: string; readonly error?: unknown }) => void;
  /**
   * A first login that matched a password hash imported from another server, and whether
   * Tegami's own secrets replaced it (`upgraded` false: a password was set meanwhile).
   * The login succeeds either way; `error` says the write failed and the next login retries.
   */
  readonly onImportedPassword?: (outcome: {
    readonly accountId: string;
    readonly upgraded: boolean;
    readonly error?: unknown;
  }) => void;
}

export function saslCredentialLookup(
  db: Queryable,
  options: SaslCredentialLookupOptions = {},
): (username: string) => Promise<SaslCredentials | undefined> {
  const reported = new Set<string>();
  const verify = passwordCheck(db, options);
  return async (username) => {
    const found = await findAuthSecrets(db, username, options.legacy ?? LEGACY_SASL_OFF);
    if (!found) return undefined;
    const { unreadableLegacySecrets, legacyPasswordHash: _imported, ...secrets } = found;
    if (unreadableLegacySecrets && !reported.has(found.accountId)) {
      reported.add(found.accountId);
      options.onUnreadableLegacySecrets?.({
        accountId: found.accountId,
        address: found.address,
        ...unreadableLegacySecrets,
      });
    }
    return { ...secrets, verifyPassword: (password: string) => verify(found, password) };
  };
}

/** Rehashes under way in this process: one per account, whatever logs in at once. */
function passwordCheck(
  db: Queryable,
  options: SaslCredentialLookupOptions,
): (account: AuthSecrets, password: string) => Promise<boolean> {
  const cache = options.verifiedPasswords?.enabled ? options.verifiedPasswords : undefined;
  const rehashing = new Set<string>();
  return async ({ accountId, address, scrypt, legacyPasswordHash }, password) => {
    if (legacyPasswordHash !== undefined) {
      // Not cached: the first login that matches replaces the hash, and the cache then
      // holds the new verifier, under which the next login finds it.
      if (!(await verifyLegacyPasswordHash(legacyPasswordHash, password))) return false;
      try {
        const fresh = await upgradeImportedPassword(
          db,
          { accountId, address },
          legacyPasswordHash,
          password,
          options.legacy ?? LEGACY_SASL_OFF,
        );
        if (fresh !== undefined) cache?.remember(accountId, fresh, password);
        options.onImportedPassword?.({ accountId, upgraded: fresh !== undefined });
      } catch (error) {
        options.onImportedPassword?.({ accountId, upgraded: false, error });
      }
      return true;
    }
    // The verifier is the one just read from Postgres: a password set anew misses here.
    if (cache?.has(accountId, scrypt, password)) return true;
    if (!(await verifyScrypt(scrypt, password))) return false;
    cache?.remember(accountId, scrypt, password);
    if (options.rehash && scryptCostDiffers(scrypt) && !rehashing.has(accountId)) {
      // After the answer, not before it: the login does not wait for a second scrypt run.
      rehashing.add(accountId);
      void deriveScryptVerifier(password)
        .then((fresh) => replaceScryptVerifier(db, accountId, scrypt, fresh))
        .then(
          () => options.onRehash?.({ accountId }),
          (error: unknown) => options.onRehash?.({ accountId, error }),
        )
        .finally(() => rehashing.delete(accountId));
    }
    return true;
  };
}

/** How a service checks cleartext passwords (PLAIN, LOGIN, USER/PASS). */
export interface PasswordCheckPolicy {
  /** Its verified-credential cache, when on for its protocol (TEGAMI_AUTH_CACHE_*). */
  readonly cache?: VerifiedPasswordCache | undefined;
  /** Rehash at the configured scrypt cost on a successful login (default true). */
  readonly rehash?: boolean;
}

export interface PasswordCheckSettingsLike {
  readonly cacheTtlMs: number;
  readonly cacheSize: number;
  readonly cacheProtocols: readonly string[];
  readonly scryptLn: number;
}

/**
 * A service's password settings applied (runtime's passwordCheckSettings): sets the scrypt
 * cost of the verifiers this process writes, and gives each protocol its cache (or none).
 */
export function applyPasswordChecks(
  settings: PasswordCheckSettingsLike,
): (protocol: 'imap' | 'pop3' | 'smtp') => VerifiedPasswordCache | undefined {
  setScryptCost(settings.scryptLn);
  return (protocol) => verifiedPasswordCacheFor(settings, protocol);
}

/**
 * The verified-credential cache of one protocol's logins, as the settings ask
 * (TEGAMI_AUTH_CACHE_TTL, _SIZE, _PROTOCOLS); undefined when off for it.
 */
export function verifiedPasswordCacheFor(
  settings: Omit<PasswordCheckSettingsLike, 'scryptLn'>,
  protocol: 'imap' | 'pop3' | 'smtp',
): VerifiedPasswordCache | undefined {
  if (settings.cacheTtlMs <= 0 || settings.cacheSize <= 0 || !settings.cacheProtocols.includes(protocol))
    return undefined;
  return new VerifiedPasswordCache({ ttlMs: settings.cacheTtlMs, maxEntries: settings.cacheSize });
}

/**
 * What a service that takes logins sets up from the legacy policy: the mechanisms it offers
 * and accepts, and a credential lookup that opens the sealed CRAM-MD5/DIGEST-MD5 secrets and
 * logs, once per account, those that do not open (the login itself just fails).
 */
export function saslLogins(
  db: Queryable,
  legacy: LegacySaslPolicy | undefined,
  log: {
    error(details: object, message: string): void;
    warn(details: object, message: string): void;
    info(details: object, message: string): void;
  },
  passwords: PasswordCheckPolicy = {},
): {
  readonly mechanisms: readonly SaslMechanismName[];
  readonly lookupCredentials: (username: string) => Promise<SaslCredentials | undefined>;
} {
  const policy = legacy ?? LEGACY_SASL_OFF;
  return {
    mechanisms: enabledSaslMechanisms({ legacy: policy.enabled }),
    lookupCredentials: saslCredentialLookup(db, {
      legacy: policy,
      verifiedPasswords: passwords.cache,
      rehash: passwords.rehash ?? true,
      onRehash: ({ accountId, error }) => {
        if (error) log.warn({ err: error, accountId }, 'could not rehash a password at the new scrypt cost');
      },
      onImportedPassword: ({ accountId, upgraded, error }) => {
        if (error)
          log.warn(
            { err: error, accountId },
            'could not replace an imported password hash (the next login tries again)',
          );
        else if (upgraded) log.info({ accountId }, 'replaced an imported password hash at the first login');
      },
      onUnreadableLegacySecrets: (account) =>
        log.error(
          account,
          account.problem === 'unknown-key'
            ? 'CRAM-MD5/DIGEST-MD5 secrets of this account are sealed with a key not in TEGAMI_SECRETS_KEY_FILE: those logins fail until the key is added back or the password is set again'
            : 'CRAM-MD5/DIGEST-MD5 secrets of this account do not authenticate (altered, or copied from another account): those logins fail until the password is set again',
        ),
    }),
  };
}

export interface RefreshedDomains {
  current(): readonly string[];
  stop(): void;
}

/** Starts from `initial`, then re-reads the local domains every `everyMs` (a failed read keeps the last). */
export function refreshedLocalDomains(
  db: Queryable,
  initial: readonly string[],
  everyMs: number,
): RefreshedDomains {
  let domains = initial;
  const timer = setInterval(() => {
    listLocalDomains(db).then(
      (read) => {
        domains = read;
      },
      () => undefined,
    );
  }, everyMs);
  timer.unref();
  return { current: () => domains, stop: () => clearInterval(timer) };
}
