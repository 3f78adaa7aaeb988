import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSelfSignedCertificate } from '@tegami/runtime';
import { migrate, openStore } from '@tegami/store';
import {
  createTestDatabase,
  freePort,
  type ProgramRun,
  runProgram,
  type TestDatabase,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOOPBACK as HOST,
  startLoginServices,
  startServiceProcess,
  stopProgram,
} from './support/login-services.js';
import { REPO_ROOT, runInRepo } from './support/processes.js';

// The server TLS policy (TEGAMI_TLS_CIPHERS, TEGAMI_TLS_MIN_VERSION) on every TLS port of
// smtp-ingress, pop-gateway and imap-gateway, run as the chart runs them, seen by OpenSSL's
// own client: STARTTLS/STLS with `-starttls`, implicit TLS on 465, 995 and 993.

/** Suites that were accepted before the policy and must be refused now, as issue 13 lists them. */
const REFUSED = [
  'AES128-SHA', // RSA key exchange, CBC with HMAC-SHA1
  'AES128-GCM-SHA256', // RSA key exchange: no forward secrecy
  'ECDHE-RSA-AES128-SHA', // forward-secret, but CBC with HMAC-SHA1
  'AES128-CCM8', // a 64-bit tag
];

interface TlsPort {
  readonly name: string;
  readonly port: number;
  /** openssl s_client -starttls protocol; undefined for implicit TLS. */
  readonly starttls?: 'smtp' | 'pop3' | 'imap';
}

let database: TestDatabase;
let scratch: string;
let baseEnv: Record<string, string>;
const stops: (() => Promise<void>)[] = [];
const ports: TlsPort[] = [];

/** openssl s_client against one port, bounded in time; stdin is empty, so it closes after the handshake. */
function sClient(target: TlsPort, options: readonly string[]): Promise<ProgramRun> {
  const starttls = target.starttls ? ['-starttls', target.starttls] : [];
  return runProgram(
    'timeout',
    ['10', 'openssl', 's_client', '-brief', '-connect', `${HOST}:${target.port}`, ...starttls, ...options],
    { cwd: REPO_ROOT, env: process.env, stdin: '' },
  );
}

function established(run: ProgramRun): { protocol: string; suite: string } | undefined {
  const text = run.stdout + run.stderr;
  if (run.code !== 0 || !text.includes('CONNECTION ESTABLISHED')) return undefined;
  return {
    protocol: /Protocol version: (\S+)/.exec(text)?.[1] ?? '',
    suite: /Ciphersuite: (\S+)/.exec(text)?.[1] ?? '',
  };
}

/** Whether this machine's OpenSSL client can offer the suite at all (CCM8 is missing from some builds). */
async function clientOffers(suite: string): Promise<boolean> {
  const run = await runProgram('openssl', ['ciphers', '-s', '-tls1_2', suite], {
    cwd: REPO_ROOT,
    env: process.env,
    stdin: '',
  });
  return run.code === 0 && run.stdout.split(':').some((name) => name.trim() === suite);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 1, onIdleError: () => undefined });
  await migrate(store.pool).finally(() => store.close());
  const nats = await testNats();
  scratch = mkdtempSync(join(tmpdir(), 'tegami-tls-policy-'));
  const cert = await ensureSelfSignedCertificate(scratch, 'localhost');
  baseEnv = {
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    TEGAMI_NATS_PREFIX: nats.prefix,
    TEGAMI_HOSTNAME: 'mx.tls.test',
    TEGAMI_LOG_LEVEL: 'warn',
    TEGAMI_TLS_CERT_FILE: cert.certFile,
    TEGAMI_TLS_KEY_FILE: cert.keyFile,
  };
  const services = await startLoginServices(baseEnv);
  stops.push(services.stop);
  const p = services.ports;
  ports.push(
    { name: 'SMTP 25', port: p.mx, starttls: 'smtp' },
    { name: 'submission 587', port: p.submission, starttls: 'smtp' },
    { name: 'submissions 465', port: p.submissions },
    { name: 'POP3 110', port: p.pop3, starttls: 'pop3' },
    { name: 'POP3S 995', port: p.pop3s },
    { name: 'IMAP 143', port: p.imap, starttls: 'imap' },
    { name: 'IMAPS 993', port: p.imaps },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await database?.drop().catch(() => undefined);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the server TLS policy on every TLS port', () => {
  it('refuses TLS 1.2 with RSA key exchange, CBC-SHA1 and CCM8 suites', async () => {
    const suites: string[] = [];
    for (const suite of REFUSED) if (await clientOffers(suite)) suites.push(suite);
    // The issue's own example must be among them whatever the build.
    expect(suites).toContain('AES128-SHA');
    for (const target of ports) {
      for (const suite of suites) {
        const run = await sClient(target, ['-tls1_2', '-cipher', suite]);
        expect(
          established(run),
          `${target.name} accepted ${suite}:\n${run.stdout}${run.stderr}`,
        ).toBeUndefined();
        // Refused by the TLS layer with an alert that says so, not by a closed port.
        expect(run.stderr, `${target.name} ${suite}`).toMatch(/SSL routines:.*alert handshake failure/);
      }
    }
  });

  it('completes TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256, and TLS 1.3', async () => {
    for (const target of ports) {
      const tls12 = await sClient(target, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
      expect(established(tls12), `${target.name}:\n${tls12.stderr}`).toEqual({
        protocol: 'TLSv1.2',
        suite: 'ECDHE-RSA-AES128-GCM-SHA256',
      });
      const tls13 = await sClient(target, ['-tls1_3']);
      expect(established(tls13)?.protocol, `${target.name}:\n${tls13.stderr}`).toBe('TLSv1.3');
    }
  });

  it('takes TEGAMI_TLS_MIN_VERSION and TEGAMI_TLS_CIPHERS from the environment', async () => {
    const [pop3, pop3s] = [await freePort(), await freePort()];
    const strictPop = await startServiceProcess('pop-gateway', {
      ...baseEnv,
      TEGAMI_POP_HOST: HOST,
      TEGAMI_POP_PORT: String(pop3),
      TEGAMI_POPS_PORT: String(pop3s),
      TEGAMI_TLS_MIN_VERSION: 'TLSv1.3',
    });
    stops.push(() => stopProgram(strictPop));
    const strict: TlsPort = { name: 'POP3S, TLS 1.3 only', port: pop3s };
    expect(established(await sClient(strict, ['-tls1_2']))).toBeUndefined();
    expect(established(await sClient(strict, ['-tls1_3']))?.protocol).toBe('TLSv1.3');

    const [pop3b, pop3sb] = [await freePort(), await freePort()];
    const chachaPop = await startServiceProcess('pop-gateway', {
      ...baseEnv,
      TEGAMI_POP_HOST: HOST,
      TEGAMI_POP_PORT: String(pop3b),
      TEGAMI_POPS_PORT: String(pop3sb),
      TEGAMI_TLS_CIPHERS: 'ECDHE-RSA-CHACHA20-POLY1305',
    });
    stops.push(() => stopProgram(chachaPop));
    const chacha: TlsPort = { name: 'STLS, ChaCha20 only', port: pop3b, starttls: 'pop3' };
    expect(
      established(await sClient(chacha, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'])),
    ).toBeUndefined();
    expect(established(await sClient(chacha, ['-tls1_2']))?.suite).toBe('ECDHE-RSA-CHACHA20-POLY1305');
  }, 60_000);

  it('stops with one line and exit code 2 when TEGAMI_TLS_CIPHERS selects no cipher', async () => {
    const run = await runInRepo(
      'node',
      ['--conditions=tegami-source', '--import', 'tsx', 'services/smtp-ingress/src/main.ts'],
      {
        ...baseEnv,
        TEGAMI_TLS_CIPHERS: 'ECDHE-RSA-AES128-GCM-SHA257',
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      `tegami: configuration error: TEGAMI_TLS_CIPHERS: an OpenSSL cipher string that selects no cipher ("ECDHE-RSA-AES128-GCM-SHA257"); see \`openssl ciphers -v '<string>'\``,
    ]);
  });
});
