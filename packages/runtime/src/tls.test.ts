import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect, createSecureContext, createServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExitIo, exitOnConfigError } from './config/exit.js';
import {
  createTlsContextOptions,
  DEFAULT_TLS12_CIPHERS,
  ensureSelfSignedCertificate,
  isUsableCipherString,
  loadTlsFromFiles,
  TlsError,
  type TlsMaterial,
  type TlsPolicy,
} from './tls.js';

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

describe('createTlsContextOptions', () => {
  /** What a client offering `options` gets from a server with `policy`: the suite, or the failure. */
  async function handshake(material: TlsMaterial, policy: TlsPolicy | undefined, options: ConnectionOptions) {
    const server = createServer(createTlsContextOptions(material, policy), (socket) => socket.end());
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      return await new Promise<string>((resolve) => {
        const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
          const agreed = `${client.getProtocol()} ${client.getCipher().standardName}`;
          client.destroy();
          resolve(agreed);
        });
        client.once('error', (err) => resolve(`refused: ${(err as NodeJS.ErrnoException).code}`));
      });
    } finally {
      server.close();
    }
  }

  it('allows TLS 1.2 only with ECDHE and an AEAD cipher, in the server’s order, and TLS 1.3 as OpenSSL has it', async () => {
    const material = await ensureSelfSignedCertificate(join(scratch, 'policy'));
    const options = createTlsContextOptions(material);
    expect(options).toMatchObject({
      ciphers: DEFAULT_TLS12_CIPHERS,
      minVersion: 'TLSv1.2',
      honorCipherOrder: true,
    });
    for (const suite of DEFAULT_TLS12_CIPHERS.split(':'))
      expect(suite).toMatch(/^ECDHE-(ECDSA|RSA)-.*(GCM|POLY1305)/);

    const tls12 = { maxVersion: 'TLSv1.2' } as const;
    // RSA key exchange, CBC with SHA-1 (with and without ECDHE), CCM8: all refused.
    for (const ciphers of ['AES128-SHA', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'AES128-CCM8']) {
      expect(await handshake(material, undefined, { ...tls12, ciphers }), ciphers).toBe(
        'refused: ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
      );
    }
    expect(await handshake(material, undefined, { ...tls12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).toBe(
      'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    );
    // The client prefers AES-256; the server's order (AES-128 first) wins.
    expect(
      await handshake(material, undefined, {
        ...tls12,
        ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256',
      }),
    ).toBe('TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    expect(await handshake(material, undefined, { minVersion: 'TLSv1.3' })).toMatch(/^TLSv1\.3 TLS_AES_/);
    expect(await handshake(material, undefined, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).toMatch(
      /^refused/,
    );
  });

  it('takes the operator’s ciphers and oldest version instead', async () => {
    const material = await ensureSelfSignedCertificate(join(scratch, 'policy'));
    const only256 = { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', minVersion: 'TLSv1.2' } as const;
    expect(createTlsContextOptions(material, only256)).toMatchObject(only256);
    expect(
      await handshake(material, only256, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
    ).toMatch(/^refused/);
    expect(await handshake(material, only256, { maxVersion: 'TLSv1.2' })).toBe(
      'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    );
    const tls13 = { ciphers: DEFAULT_TLS12_CIPHERS, minVersion: 'TLSv1.3' } as const;
    expect(await handshake(material, tls13, { maxVersion: 'TLSv1.2' })).toMatch(/^refused/);
    expect(await handshake(material, tls13, {})).toMatch(/^TLSv1\.3 /);
  });

  it('knows a cipher string that selects nothing from one that selects something', () => {
    expect(isUsableCipherString(DEFAULT_TLS12_CIPHERS)).toBe(true);
    expect(isUsableCipherString('HIGH:!aNULL')).toBe(true);
    expect(isUsableCipherString('ECDHE-RSA-AES128-GCM-SHA257')).toBe(false);
    expect(isUsableCipherString('!ALL')).toBe(false);
  });
});
