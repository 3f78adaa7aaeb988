import { generate } from 'selfsigned';
import type { IssueOptions, TestCertificate } from './test-ca.js';

// Any certificate a TLS test needs besides a CA's server certificates: self-signed server
// certificates (what DANE-EE publishes), intermediate CAs (chains for DANE-TA), and the
// mistakes a client must refuse (a "CA" without the CA flag, a leaf signing another).

export interface CertificateOptions extends IssueOptions {
  /** Signed with this certificate's key, naming it as issuer. Default: self-signed. */
  readonly issuer?: TestCertificate;
  /** A CA certificate (basicConstraints CA:TRUE, keyCertSign). Default: a server certificate. */
  readonly ca?: boolean;
  /** The subject CN. Default: the first name. */
  readonly commonName?: string;
}

const HOUR_MS = 3_600_000;

/** Ends with a newline, so PEMs can be concatenated into a chain. */
const pem = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

/** A certificate for `names` (DNS names, or IP addresses) with a P-256 key of its own. */
export async function createCertificate(
  names: readonly string[],
  options: CertificateOptions = {},
): Promise<TestCertificate> {
  const from = options.notBefore ?? new Date(Date.now() - HOUR_MS);
  const until = options.notAfter ?? new Date(from.getTime() + 30 * 24 * HOUR_MS);
  const altNames = names.map((name) =>
    /^[\d.]+$|:/.test(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name },
  );
  const generated = await generate(
    [{ name: 'commonName', value: options.commonName ?? names[0] ?? 'localhost' }],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: from,
      notAfterDate: until,
      ...(options.issuer ? { ca: { key: options.issuer.key, cert: options.issuer.cert } } : {}),
      extensions: options.ca
        ? [
            { name: 'basicConstraints', cA: true, critical: true },
            { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
          ]
        : [
            { name: 'basicConstraints', cA: false, critical: true },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
            { name: 'extKeyUsage', serverAuth: true },
            ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : []),
          ],
    },
  );
  return { cert: pem(generated.cert), key: pem(generated.private) };
}
