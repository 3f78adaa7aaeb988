import { statSync } from 'node:fs';
import type { Logger } from '@tegami/runtime';
import { loadSecretsKeyring, type SecretsKeyring } from '@tegami/store';

/**
 * The keyring that opens the DKIM private keys (TEGAMI_SECRETS_KEY_FILE), read once at
 * start; a file that cannot be used stops the start (a configuration problem, exit 2).
 * Without one the worker runs and sends mail unsigned, and says so.
 */
export function dkimKeyring(file: string | undefined, logger: Logger): SecretsKeyring | undefined {
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
  logger.info({ keyId: keyring.current.id }, 'DKIM keys of the local domains open with this secrets key');
  return keyring;
}
