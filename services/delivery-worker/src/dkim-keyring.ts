import { statSync } from 'node:fs';
import type { Logger } from '@tegami/runtime';
import { loadSecretsKeyring, resealDkimKeys, type SecretsKeyring } from '@tegami/store';
import type pg from 'pg';

/**
 * The keyring that opens the DKIM private keys (TEGAMI_SECRETS_KEY_FILE), read once at
 * start; a file that cannot be used stops the start (a configuration problem, exit 2).
 * Keys an older line of the file sealed are sealed again with the first, so that line can go
 * (the same rotation as for the CRAM-MD5 secrets). Without a file the worker runs and sends
 * mail unsigned, and says so.
 */
export async function prepareDkimKeyring(
  pool: pg.Pool,
  file: string | undefined,
  logger: Logger,
): Promise<SecretsKeyring | undefined> {
  if (!file) {
    logger.info(
      {},
      'no TEGAMI_SECRETS_KEY_FILE: outgoing mail is not DKIM-signed (tegami dkim create needs the same key)',
    );
    return undefined;
  }
  const keyring = loadSecretsKeyring(file);
  // Kubernetes mounts Secrets 0440 for the pod's group; readable by everyone is a mistake.
  if ((statSync(file).mode & 0o004) !== 0) {
    logger.warn(
      { keyFile: file },
      'the secrets key file is readable by every user of this machine: chmod 600 it',
    );
  }
  await settleDkimKeys(pool, keyring, logger);
  return keyring;
}

/** Seals the DKIM keys of older secrets keys with the current one, and says what is left. */
export async function settleDkimKeys(pool: pg.Pool, keyring: SecretsKeyring, logger: Logger): Promise<void> {
  const { resealed, unreadable } = await resealDkimKeys(pool, keyring);
  logger.info(
    { keyId: keyring.current.id, resealed },
    'DKIM keys of the local domains open with this secrets key',
  );
  if (Object.keys(unreadable).length > 0) {
    logger.warn(
      { byKeyId: unreadable },
      'some DKIM keys were sealed with a secrets key that is not in TEGAMI_SECRETS_KEY_FILE: their domains sign without them until that key is added or the keys are rotated',
    );
  }
}
