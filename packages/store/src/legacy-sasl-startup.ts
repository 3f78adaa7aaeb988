import { statSync } from 'node:fs';
import type pg from 'pg';
import { type LegacySaslPolicy, legacySaslPolicy, settleLegacySaslSecrets } from './legacy-sasl-secrets.js';
import { loadSecretsKeyring } from './secrets-key-file.js';

/** The two settings (TEGAMI_SECRETS_KEY_FILE, TEGAMI_SASL_LEGACY_MECHANISMS) as a program read them. */
export interface LegacySaslSettings {
  readonly secretsKeyFile: string | undefined;
  readonly saslLegacyMechanisms: boolean | undefined;
}

export interface StartupLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * What smtp-ingress, pop-gateway, imap-gateway and the standalone do at start: read the key,
 * decide whether CRAM-MD5 and DIGEST-MD5 are on, bring the stored secrets in line (seal the
 * clear ones, re-seal those of an older key, or delete them all when off), and say which it
 * is in one log line. A bad key file or `true` without a key is a configuration problem.
 */
export async function prepareLegacySasl(
  pool: pg.Pool,
  settings: LegacySaslSettings,
  log: StartupLog,
): Promise<LegacySaslPolicy> {
  const keyFile = settings.secretsKeyFile;
  const keyring = keyFile ? loadSecretsKeyring(keyFile) : undefined;
  // Kubernetes mounts Secrets 0440 for the pod's group; readable by everyone is a mistake.
  if (keyFile && (statSync(keyFile).mode & 0o004) !== 0) {
    log.warn({ keyFile }, 'the secrets key file is readable by every user of this machine: chmod 600 it');
  }
  const policy = legacySaslPolicy(keyring, settings.saslLegacyMechanisms);
  const settled = await settleLegacySaslSecrets(pool, policy);
  if (policy.enabled) {
    log.info(
      { keyId: policy.keyring.current.id, sealed: settled.sealed, resealed: settled.resealed },
      'CRAM-MD5 and DIGEST-MD5 are on; their secrets are stored sealed (AES-256-GCM)',
    );
  } else {
    const why =
      settings.saslLegacyMechanisms === false
        ? 'TEGAMI_SASL_LEGACY_MECHANISMS is false'
        : 'no TEGAMI_SECRETS_KEY_FILE to seal their secrets with';
    if (settled.removed === 0) {
      log.info({}, `CRAM-MD5 and DIGEST-MD5 are off (${why}): nothing password-equivalent is stored`);
    } else {
      log.warn(
        { removed: settled.removed },
        `CRAM-MD5 and DIGEST-MD5 are off (${why}): deleted their stored secrets; users need a new password to use them once they are on again`,
      );
    }
  }
  if (Object.keys(settled.unreadable).length > 0) {
    log.warn(
      { byKeyId: settled.unreadable },
      'some accounts have CRAM-MD5/DIGEST-MD5 secrets no key here opens: those logins fail until the key is added to TEGAMI_SECRETS_KEY_FILE or the password is set again',
    );
  }
  return policy;
}
