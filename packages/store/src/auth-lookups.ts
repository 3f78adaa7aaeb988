import { enabledSaslMechanisms, type SaslCredentials, type SaslMechanismName } from '@tegami/protocol';
import { findAuthSecrets } from './accounts.js';
import type { Queryable } from './db.js';
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
}

export function saslCredentialLookup(
  db: Queryable,
  options: SaslCredentialLookupOptions = {},
): (username: string) => Promise<SaslCredentials | undefined> {
  const reported = new Set<string>();
  return async (username) => {
    const found = await findAuthSecrets(db, username, options.legacy ?? LEGACY_SASL_OFF);
    if (!found) return undefined;
    const { unreadableLegacySecrets, ...secrets } = found;
    if (unreadableLegacySecrets && !reported.has(found.accountId)) {
      reported.add(found.accountId);
      options.onUnreadableLegacySecrets?.({
        accountId: found.accountId,
        address: found.address,
        ...unreadableLegacySecrets,
      });
    }
    return secrets;
  };
}

/**
 * What a service that takes logins sets up from the legacy policy: the mechanisms it offers
 * and accepts, and a credential lookup that opens the sealed CRAM-MD5/DIGEST-MD5 secrets and
 * logs, once per account, those that do not open (the login itself just fails).
 */
export function saslLogins(
  db: Queryable,
  legacy: LegacySaslPolicy | undefined,
  log: { error(details: object, message: string): void },
): {
  readonly mechanisms: readonly SaslMechanismName[];
  readonly lookupCredentials: (username: string) => Promise<SaslCredentials | undefined>;
} {
  const policy = legacy ?? LEGACY_SASL_OFF;
  return {
    mechanisms: enabledSaslMechanisms({ legacy: policy.enabled }),
    lookupCredentials: saslCredentialLookup(db, {
      legacy: policy,
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
