import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type LegacySaslPolicy,
  legacySaslPolicy,
  loadSecretsKeyring,
  SECRETS_KEY_FILE_NAME,
  type SecretsKeyring,
} from '@tegami/store';

/**
 * Whether `user add` and `user passwd` store CRAM-MD5/DIGEST-MD5 secrets, and the key that
 * seals them: the services' own settings (TEGAMI_SECRETS_KEY_FILE,
 * TEGAMI_SASL_LEGACY_MECHANISMS), so a password set here works with every mechanism they
 * offer. Against the standalone (no DATABASE_URL) the key is the one it made in its data
 * directory.
 */
export function cliLegacySasl(
  config: SecretsKeyConfig & { readonly saslLegacyMechanisms?: boolean | undefined },
): LegacySaslPolicy {
  return legacySaslPolicy(cliSecretsKeyring(config), config.saslLegacyMechanisms);
}

interface SecretsKeyConfig {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly secretsKeyFile?: string | undefined;
}

/**
 * The key that seals DKIM private keys (and CRAM-MD5/DIGEST-MD5 secrets): TEGAMI_SECRETS_KEY_FILE,
 * or against the standalone the one it made in its data directory; none when neither is there.
 */
export function cliSecretsKeyring(config: SecretsKeyConfig): SecretsKeyring | undefined {
  const standaloneKey = join(config.dataDir, SECRETS_KEY_FILE_NAME);
  const keyFile =
    config.secretsKeyFile ?? (!config.databaseUrl && existsSync(standaloneKey) ? standaloneKey : undefined);
  return keyFile ? loadSecretsKeyring(keyFile) : undefined;
}
