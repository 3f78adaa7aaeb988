import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { generate } from 'selfsigned';

/**
 * A certificate or key that cannot be used. It is the operator's to fix, like a bad
 * setting, so start-up reports it on one line (exit.ts looks for `configurationProblem`).
 */
export class TlsError extends Error {
  readonly configurationProblem = true;
  constructor(message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

export interface TlsMaterial {
  /** PEM: the certificate, possibly followed by its chain. */
  readonly cert: Buffer;
  /** PEM: the unencrypted private key. */
  readonly key: Buffer;
}

export interface SelfSignedCertificate extends TlsMaterial {
  readonly certFile: string;
  readonly keyFile: string;
  /** True when this call created the certificate (first start, or the old one no longer fit). */
  readonly generated: boolean;
}

/**
 * Reads a PEM certificate and key and checks, now rather than at the first client's
 * handshake, that they are what they say and belong together.
 */
export function loadTlsFromFiles(certFile: string, keyFile: string): TlsMaterial {
  const cert = readPem(certFile, 'TLS certificate');
  const key = readPem(keyFile, 'TLS key');
  const certificate = parseCertificate(cert, certFile);
  const privateKey = parsePrivateKey(key, keyFile);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsError(`TLS key ${keyFile} does not match the certificate in ${certFile}`);
  }
  return { cert, key };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code ?? (err as Error).message})`;
    throw new TlsError(`${what} ${file}: ${problem}`);
  }
}

function parseCertificate(pem: Buffer, file: string): X509Certificate {
  const text = pem.toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    const swapped = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text);
    throw new TlsError(
      `TLS certificate ${file}: ${swapped ? 'holds a private key, not a certificate (are the two files swapped?)' : 'not a PEM certificate (no BEGIN CERTIFICATE line)'}`,
    );
  }
  try {
    // The first certificate is the server's own; any that follow are its chain.
    return new X509Certificate(pem);
  } catch {
    throw new TlsError(`TLS certificate ${file}: not a valid PEM certificate`);
  }
}

function parsePrivateKey(pem: Buffer, file: string): KeyObject {
  const text = pem.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    const swapped = text.includes('-----BEGIN CERTIFICATE-----');
    throw new TlsError(
      `TLS key ${file}: ${swapped ? 'holds a certificate, not a private key (are the two files swapped?)' : 'not a PEM private key (no BEGIN PRIVATE KEY line)'}`,
    );
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE') {
      throw new TlsError(`TLS key ${file}: is encrypted; give the key without a passphrase`);
    }
    throw new TlsError(`TLS key ${file}: not a valid PEM private key`);
  }
}

// 825 days: the longest validity Apple's clients accept for a server certificate.
const VALIDITY_DAYS = 825;

/**
 * The standalone's certificate, so STARTTLS and the implicit-TLS ports work on a laptop
 * without setup. It is created once in `<dir>/tls/` and reused on every later start, so a
 * client that was told to trust it keeps trusting it; it is replaced only when it is
 * unreadable, expired, or not valid for `hostname`.
 */
export async function ensureSelfSignedCertificate(
  dir: string,
  hostname = 'localhost',
): Promise<SelfSignedCertificate> {
  const tlsDir = join(dir, 'tls');
  const certFile = join(tlsDir, 'cert.pem');
  const keyFile = join(tlsDir, 'key.pem');
  const existing = reusable(certFile, keyFile, hostname);
  if (existing) return { ...existing, certFile, keyFile, generated: false };

  const pems = await generateSelfSigned(hostname);
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  // Key first, each through a rename: a crash part-way leaves no cert.pem next to a stale or
  // half-written key, so the next start generates a fresh pair instead of failing.
  writeAtomically(keyFile, pems.private, 0o600);
  writeAtomically(certFile, pems.cert, 0o644);
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private), certFile, keyFile, generated: true };
}

function reusable(certFile: string, keyFile: string, hostname: string): TlsMaterial | undefined {
  let material: TlsMaterial;
  try {
    material = loadTlsFromFiles(certFile, keyFile);
  } catch {
    return undefined;
  }
  const certificate = new X509Certificate(material.cert);
  const fitsName = isIP(hostname) ? certificate.checkIP(hostname) : certificate.checkHost(hostname);
  const expired = new Date(certificate.validTo).getTime() <= Date.now();
  return fitsName && !expired ? material : undefined;
}

async function generateSelfSigned(hostname: string) {
  // An hour back, so a client whose clock is a little behind does not see "not yet valid".
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000);
  const own = isIP(hostname) ? { type: 7 as const, ip: hostname } : { type: 2 as const, value: hostname };
  const altNames = [
    own,
    ...(hostname === 'localhost' ? [] : [{ type: 2 as const, value: 'localhost' }]),
    ...(hostname === '127.0.0.1' ? [] : [{ type: 7 as const, ip: '127.0.0.1' }]),
    ...(hostname === '::1' ? [] : [{ type: 7 as const, ip: '::1' }]),
  ];
  return generate(
    [
      { name: 'commonName', value: hostname },
      // Shown in the client's warning, so the user knows whose certificate it is.
      { name: 'organizationName', value: 'Tegami standalone (self-signed)' },
    ],
    {
      // RSA rather than EC: the oldest mail clients still in use speak only RSA.
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: notBefore,
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ],
    },
  );
}

function writeAtomically(file: string, data: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  // The mode applies only when the file is created, so never write over a leftover.
  rmSync(temporary, { force: true });
  writeFileSync(temporary, data, { mode });
  renameSync(temporary, file);
}

/**
 * The server side's TLS policy (TEGAMI_TLS_CIPHERS, TEGAMI_TLS_MIN_VERSION). Only the
 * servers: the delivery-worker's client keeps Node's defaults, since opportunistic TLS to
 * other MTAs (RFC 7435) must take whatever the far end offers rather than fall back to clear.
 */
export interface TlsPolicy {
  /**
   * OpenSSL cipher string for TLS 1.2. TLS 1.3 keeps OpenSSL's suites (all of them AEAD and
   * forward-secret) unless the string names `TLS_…` suites, which then replace them.
   */
  readonly ciphers: string;
  /** TLSv1.2, or TLSv1.3 for clients that all speak it. */
  readonly minVersion: TlsMinVersion;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * Mozilla's "intermediate" TLS 1.2 suites: ECDHE key exchange (forward secrecy) with
 * AES-GCM or ChaCha20-Poly1305 only. Refused with it: RSA key exchange (a stolen key
 * decrypts recorded sessions), CBC with HMAC-SHA1 (Lucky 13 and its kin) and CCM8 (a 64-bit
 * tag). Every mail client of the last ten years has one of these.
 */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const DEFAULT_TLS_POLICY: TlsPolicy = { ciphers: DEFAULT_TLS12_CIPHERS, minVersion: 'TLSv1.2' };

/**
 * Options for every server-side TLS context (`tls.createServer`, `new TLSSocket` for
 * STARTTLS, STLS and the implicit-TLS ports): the material and the policy, TLS 1.2 at least
 * (RFC 8996 retired 1.0 and 1.1, RFC 8314 asks for 1.2 on mail ports), and the server's
 * order of suites rather than the client's, so a client offering a weak suite first still
 * gets the strongest both know.
 */
export function createTlsContextOptions(
  material: TlsMaterial,
  policy: TlsPolicy = DEFAULT_TLS_POLICY,
): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ciphers: policy.ciphers,
    minVersion: policy.minVersion,
    honorCipherOrder: true,
  };
}

/**
 * Whether OpenSSL takes a cipher string: one that selects nothing it knows is refused at
 * start, so a typo stops the service with one line instead of failing every handshake.
 */
export function isUsableCipherString(ciphers: string): boolean {
  try {
    createSecureContext({ ciphers });
    return true;
  } catch {
    return false;
  }
}
