import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// Secrets at rest that must be readable again (unlike a password verifier): AES-256-GCM under
// a key the services are given, never the database. Whoever dumps the database gets
// ciphertext; whoever also has the key has everything, so the key lives apart (a Kubernetes
// Secret, a 0600 file in the standalone's data directory).

/** AES-256 keys: the first seals, every one unseals, so a key can be rotated without downtime. */
export interface SecretsKeyring {
  readonly current: SecretsKey;
  /** Every key by id, the current one included. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

export interface SecretsKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A sealed value and the id of the key that sealed it (stored beside it, so old keys can be found). */
export interface SealedSecret {
  readonly keyId: string;
  readonly sealed: Buffer;
}

/** Why a sealed value could not be opened: its key is not in the keyring, or it is not what was sealed. */
export type UnsealProblem = 'unknown-key' | 'not-authentic';

export type Unsealed =
  | { readonly ok: true; readonly plaintext: Buffer }
  | { readonly ok: false; readonly problem: UnsealProblem };

export const SECRETS_KEY_BYTES = 32;

/**
 * A short, stable name for a key, derived from it: the operator never names keys, and a
 * replaced key can never be mistaken for the old one under the same name. Sixteen hex digits
 * of a domain-separated SHA-256 say nothing about a random 256-bit key.
 */
export function secretsKeyId(key: Buffer): string {
  return createHash('sha256').update('tegami secrets key id\0').update(key).digest('hex').slice(0, 16);
}

/** The keyring of `keys`, the first being the one that seals. */
export function createSecretsKeyring(keys: readonly Buffer[]): SecretsKeyring {
  const [first] = keys;
  if (!first) throw new Error('a keyring needs at least one key');
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key.length !== SECRETS_KEY_BYTES) throw new Error(`a secrets key has ${SECRETS_KEY_BYTES} bytes`);
    byId.set(secretsKeyId(key), key);
  }
  return { current: { id: secretsKeyId(first), key: first }, keys: byId };
}

// sealed = format (1 byte) ‖ nonce (12) ‖ ciphertext ‖ tag (16). A random 96-bit nonce is
// safe for far more seals than passwords are ever set (NIST SP 800-38D §8.3: 2^32 per key).
const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals `plaintext` with the current key. `associatedData` is authenticated, not stored: the
 * same bytes must be given to unseal, so a value bound to one row cannot be moved to another.
 */
export function sealSecret(keyring: SecretsKeyring, plaintext: Buffer, associatedData: Buffer): SealedSecret {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    keyId: keyring.current.id,
    sealed: Buffer.concat([Buffer.from([FORMAT]), nonce, ciphertext, cipher.getAuthTag()]),
  };
}

/** Opens a sealed value; a wrong key, altered bytes or other associated data are a problem, never a throw. */
export function unsealSecret(keyring: SecretsKeyring, value: SealedSecret, associatedData: Buffer): Unsealed {
  const key = keyring.keys.get(value.keyId);
  if (!key) return { ok: false, problem: 'unknown-key' };
  const { sealed } = value;
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT) {
    return { ok: false, problem: 'not-authentic' };
  }
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData);
    decipher.setAuthTag(tag);
    return { ok: true, plaintext: Buffer.concat([decipher.update(ciphertext), decipher.final()]) };
  } catch {
    // GCM's tag check failed: another key with the same id is impossible, so the bytes or
    // the associated data differ from what was sealed.
    return { ok: false, problem: 'not-authentic' };
  }
}
