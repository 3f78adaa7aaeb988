import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
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
 * Options for node:tls servers (`tls.createServer`, `new TLSSocket` for STARTTLS): the
 * material, TLS 1.2 at least (RFC 8996 retired 1.0 and 1.1, RFC 8314 asks for 1.2 on mail
 * ports), and anything the caller adds.
 */
export function createTlsContextOptions(
  material: TlsMaterial,
  extra: SecureContextOptions = {},
): SecureContextOptions {
  return { minVersion: 'TLSv1.2', ...extra, cert: material.cert, key: material.key };
}
