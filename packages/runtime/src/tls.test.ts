import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, createServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExitIo, exitOnConfigError } from './config/exit.js';
import { createTlsContextOptions, ensureSelfSignedCertificate, loadTlsFromFiles, TlsError } from './tls.js';

const scratch = mkdtempSync(join(tmpdir(), 'tegami-tls-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TlsError);
    return (err as Error).message;
  }
  throw new Error('expected a TlsError');
}

describe('ensureSelfSignedCertificate', () => {
  const dir = join(scratch, 'data');

  it('generates a certificate for localhost on first start and reuses it after', async () => {
    const first = await ensureSelfSignedCertificate(dir);
    expect(first.generated).toBe(true);
    expect(first.certFile).toBe(join(dir, 'tls', 'cert.pem'));
    expect(first.keyFile).toBe(join(dir, 'tls', 'key.pem'));
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);

    const second = await ensureSelfSignedCertificate(dir);
    expect(second.generated).toBe(false);
    expect(second.cert.equals(first.cert)).toBe(true);
    expect(second.key.equals(first.key)).toBe(true);
    expect(readFileSync(first.certFile).equals(first.cert)).toBe(true);
  });

  it('makes a certificate for localhost and 127.0.0.1 that node:tls serves and a client verifies', async () => {
    const material = await ensureSelfSignedCertificate(dir);
    const x509 = new X509Certificate(material.cert);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.checkHost('localhost')).toBe('localhost');
    const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(825);
    expect(() => createSecureContext(createTlsContextOptions(material))).not.toThrow();

    const server = createServer(createTlsContextOptions(material), (socket) => socket.end('hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const greeting = await new Promise<string>((resolve, reject) => {
        const client = connect(
          { host: '127.0.0.1', port, servername: 'localhost', ca: material.cert },
          () => {
            expect(client.authorized).toBe(true);
            client.setEncoding('utf8');
            client.once('data', (data: string) => {
              client.end();
              resolve(data);
            });
          },
        );
        client.once('error', reject);
      });
      expect(greeting).toBe('hello\n');
    } finally {
      server.close();
    }
  });

  it('replaces a certificate that does not fit the host name or is damaged', async () => {
    const other = join(scratch, 'rename');
    const first = await ensureSelfSignedCertificate(other);
    const renamed = await ensureSelfSignedCertificate(other, 'mail.example.test');
    expect(renamed.generated).toBe(true);
    expect(new X509Certificate(renamed.cert).subjectAltName).toContain('DNS:mail.example.test');
    expect(new X509Certificate(renamed.cert).subjectAltName).toContain('DNS:localhost');
    expect(renamed.cert.equals(first.cert)).toBe(false);

    writeFileSync(renamed.certFile, '');
    const repaired = await ensureSelfSignedCertificate(other, 'mail.example.test');
    expect(repaired.generated).toBe(true);
    expect(() => loadTlsFromFiles(repaired.certFile, repaired.keyFile)).not.toThrow();
  });
});

describe('loadTlsFromFiles', () => {
  it('loads a matching pair', async () => {
    const pair = await ensureSelfSignedCertificate(join(scratch, 'a'));
    const loaded = loadTlsFromFiles(pair.certFile, pair.keyFile);
    expect(loaded.cert.equals(pair.cert)).toBe(true);
    expect(loaded.key.equals(pair.key)).toBe(true);
  });

  it('refuses a key that does not match the certificate', async () => {
    const a = await ensureSelfSignedCertificate(join(scratch, 'a'));
    const b = await ensureSelfSignedCertificate(join(scratch, 'b'));
    expect(message(() => loadTlsFromFiles(a.certFile, b.keyFile))).toBe(
      `TLS key ${b.keyFile} does not match the certificate in ${a.certFile}`,
    );
  });

  it('says which file is missing, swapped or not PEM', async () => {
    const a = await ensureSelfSignedCertificate(join(scratch, 'a'));
    const missing = join(scratch, 'missing.pem');
    expect(message(() => loadTlsFromFiles(missing, a.keyFile))).toBe(
      `TLS certificate ${missing}: does not exist`,
    );
    expect(message(() => loadTlsFromFiles(a.keyFile, a.certFile))).toBe(
      `TLS certificate ${a.keyFile}: holds a private key, not a certificate (are the two files swapped?)`,
    );
    const junk = join(scratch, 'junk.pem');
    writeFileSync(junk, 'hello');
    expect(message(() => loadTlsFromFiles(junk, a.keyFile))).toBe(
      `TLS certificate ${junk}: not a PEM certificate (no BEGIN CERTIFICATE line)`,
    );
    expect(message(() => loadTlsFromFiles(a.certFile, junk))).toBe(
      `TLS key ${junk}: not a PEM private key (no BEGIN PRIVATE KEY line)`,
    );
    const broken = join(scratch, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(message(() => loadTlsFromFiles(broken, a.keyFile))).toBe(
      `TLS certificate ${broken}: not a valid PEM certificate`,
    );
  });

  it('is reported on one line with exit code 2, like a bad setting', () => {
    const io = { stderr: '', code: 0 };
    const exitIo: ExitIo = {
      writeStderr(text) {
        io.stderr += text;
      },
      exit(code): never {
        io.code = code;
        throw new Error('exit');
      },
    };
    const missing = join(scratch, 'none.pem');
    expect(() => exitOnConfigError(() => loadTlsFromFiles(missing, missing), exitIo)).toThrow('exit');
    expect(io).toMatchObject({
      code: 2,
      stderr: `tegami: configuration error: TLS certificate ${missing}: does not exist\n`,
    });
  });
});
