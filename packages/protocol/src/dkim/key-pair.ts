import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

// The two DKIM signing algorithms worth publishing today: rsa-sha256 (RFC 6376 §3.3.1,
// 2048-bit keys as RFC 8301 §3.2 asks: 1024 is the floor, and some receivers already
// ignore it) and ed25519-sha256 (RFC 8463), which not every receiver checks yet, so a
// domain signs with both and each receiver uses the signature it understands.

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];

export const DKIM_RSA_BITS = 2048;

/** A new key pair: the private key as PKCS #8 PEM, the public key as the record's `p=` value. */
export interface DkimKeyPair {
  readonly algorithm: DkimAlgorithm;
  readonly privateKeyPem: string;
  /** Base64, as published: SubjectPublicKeyInfo DER for RSA, the raw 32 octets for Ed25519 (RFC 8463 §4.2). */
  readonly publicKey: string;
}

const generate = promisify(generateKeyPair);

export async function generateDkimKeyPair(algorithm: DkimAlgorithm): Promise<DkimKeyPair> {
  const { privateKey } =
    algorithm === 'rsa-sha256'
      ? await generate('rsa', { modulusLength: DKIM_RSA_BITS })
      : await generate('ed25519', {});
  return {
    algorithm,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publishedPublicKey(createPublicKey(privateKey)),
  };
}

/**
 * The `p=` value of a private key, and whether it is of `algorithm`: what a key read back
 * from storage is checked against, so a row that holds the wrong kind of key is noticed.
 */
export function dkimPublicKeyOf(privateKeyPem: string, algorithm: DkimAlgorithm): string {
  const privateKey = createPrivateKey(privateKeyPem);
  const expected = algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
  if (privateKey.asymmetricKeyType !== expected) {
    throw new Error(`not an ${expected} key: ${privateKey.asymmetricKeyType}`);
  }
  return publishedPublicKey(createPublicKey(privateKey));
}

function publishedPublicKey(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'ed25519') {
    // RFC 8463 §4.2: the bare public key, not wrapped in SubjectPublicKeyInfo as RSA's is.
    const jwk = publicKey.export({ format: 'jwk' });
    return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
  }
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}
