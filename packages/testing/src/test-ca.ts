import { generate } from 'selfsigned';

// A certificate authority of the test's own, so a test can stand up TLS peers (SMTP, HTTPS)
// whose certificates a client verifies for real: trusted when the client is given `ca.cert`,
// untrusted otherwise, for the host names the test chooses, valid or expired.

export interface TestCertificate {
  /** PEM: the leaf certificate. */
  readonly cert: string;
  /** PEM: its private key. */
  readonly key: string;
}

export interface IssueOptions {
  /** Default: an hour ago. */
  readonly notBefore?: Date;
  /** Default: 30 days after notBefore. */
  readonly notAfter?: Date;
}

export interface TestCa extends TestCertificate {
  /** A server certificate for `names` (DNS names, or IP addresses), signed by this CA. */
  issue(names: readonly string[], options?: IssueOptions): Promise<TestCertificate>;
}

const HOUR_MS = 3_600_000;

/** Ends with a newline, so PEMs can be concatenated into a chain or a bundle. */
const pem = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

export async function createTestCa(commonName = 'Tegami test CA'): Promise<TestCa> {
  const notBefore = new Date(Date.now() - HOUR_MS);
  const ca = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + 365 * 24 * HOUR_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return {
    cert: pem(ca.cert),
    key: pem(ca.private),
    async issue(names, options = {}) {
      const from = options.notBefore ?? new Date(Date.now() - HOUR_MS);
      const until = options.notAfter ?? new Date(from.getTime() + 30 * 24 * HOUR_MS);
      const leaf = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notBeforeDate: from,
        notAfterDate: until,
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false, critical: true },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: names.map((name) =>
              /^[\d.]+$|:/.test(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name },
            ),
          },
        ],
      });
      return { cert: pem(leaf.cert), key: pem(leaf.private) };
    },
  };
}
