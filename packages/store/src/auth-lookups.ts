import type { SaslCredentials } from '@tegami/protocol';
import { findAuthSecrets } from './accounts.js';
import type { Queryable } from './db.js';
import { listLocalDomains } from './recipients.js';

// What every service that takes SASL logins (smtp-ingress, pop-gateway, imap-gateway)
// needs from the accounts: the credential lookup, and the local domains that DIGEST-MD5
// offers as realms, refreshed rather than read per session.

export function saslCredentialLookup(
  db: Queryable,
): (username: string) => Promise<SaslCredentials | undefined> {
  return async (username) => {
    const secrets = await findAuthSecrets(db, username);
    return secrets ? { ...secrets } : undefined;
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
