import { bool, optional, path } from './read.js';

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
