import { generateKeyPairSync } from 'node:crypto';

export type DkimKeyAlgorithm = 'rsa' | 'ed25519';

/** A DKIM key pair in the forms each consumer wants, and its DNS record. */
export interface DkimKey {
  readonly algorithm: DkimKeyAlgorithm;
  /** PKCS#8 PEM, for node:crypto and mailauth (`dkimSign`, `arc` sealing). */
  readonly privateKeyPem: string;
  /**
   * What dkimpy's `privkey` takes: for rsa a PKCS#1 PEM; for ed25519 the base64 of the
   * 32-byte seed (RFC 8032), since dkimpy hands it to nacl's SigningKey, which refuses PEM.
   */
  readonly privateKeyForDkimpy: string;
  /** The p= value: base64 of the SubjectPublicKeyInfo (rsa) or of the 32-byte public key (ed25519, RFC 8463 §4.2). */
  readonly publicKeyBase64: string;
  /**
   * The key record `v=DKIM1; k=…; p=…` as character-strings of at most 255 bytes, one TXT
   * record: `'sel._domainkey.example.test': { txt: [key.dnsTxt] }`.
   */
  readonly dnsTxt: readonly string[];
}

const CHARACTER_STRING_MAX = 255;

/** A fresh key pair; rsa of `bits` bits (1024 and more is what verifiers accept, RFC 8301). */
export function generateDkimKey(algorithm: DkimKeyAlgorithm, bits = 2048): DkimKey {
  if (algorithm === 'rsa') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const publicKeyBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    return {
      algorithm,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      privateKeyForDkimpy: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      publicKeyBase64,
      dnsTxt: toCharacterStrings(`v=DKIM1; k=rsa; p=${publicKeyBase64}`),
    };
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new Error('node:crypto gave an ed25519 JWK without d or x');
  const publicKeyBase64 = Buffer.from(jwk.x, 'base64url').toString('base64');
  return {
    algorithm,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKeyForDkimpy: Buffer.from(jwk.d, 'base64url').toString('base64'),
    publicKeyBase64,
    dnsTxt: toCharacterStrings(`v=DKIM1; k=ed25519; p=${publicKeyBase64}`),
  };
}

/**
 * A long TXT value as the character-strings of one record (RFC 1035 §3.3.14: at most 255
 * bytes each); SPF and DKIM join them without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
 */
export function toCharacterStrings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length !== value.length) throw new Error('TXT value is not ASCII: split it yourself');
  const strings: string[] = [];
  for (let start = 0; start < value.length; start += CHARACTER_STRING_MAX) {
    strings.push(value.slice(start, start + CHARACTER_STRING_MAX));
  }
  return strings.length > 0 ? strings : [''];
}
