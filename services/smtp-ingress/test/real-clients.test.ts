import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress, USERS } from './test-ingress.js';

const run = promisify(execFile);
const CORPUS = new URL('../../../../shared/corpus/', import.meta.url);
const corpus = (name: string) => readFileSync(new URL(name, CORPUS));
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

/** The stored message is the one sent, byte for byte, behind our Received header; its job is queued. */
async function expectQueued(queueId: string, sent: Buffer, recipients: string[]) {
  const stored = await t.queued(queueId);
  expect(stored?.state).toBe('queued');
  expect(stored?.sender).toBe(ALICE);
  expect(stored?.recipients.map((r) => r.address)).toEqual(recipients);
  const raw = stored!.raw;
  expect(raw.subarray(0, 10).toString()).toBe('Received: ');
  const headerEnd = raw.indexOf('\r\n\t') >= 0 ? raw.indexOf(`id ${queueId}`) : -1;
  expect(headerEnd).toBeGreaterThan(0);
  expect(raw.subarray(raw.length - sent.length).equals(sent)).toBe(true);
  const received = raw.subarray(0, raw.length - sent.length).toString();
  expect(received).toMatch(
    /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Tegami\) with ESMTPS?A? id [0-9A-Z]{16}/,
  );
  expect(received.endsWith('\r\n')).toBe(true);
  expect((received.match(/\r\n(?![\t ])/g) ?? []).length).toBe(1);
  await t.waitForJob(queueId);
  return received;
}

function tempFile(name: string, data: Buffer): string {
  const path = join(tmpdir(), `tegami-${process.pid}-${name}`);
  writeFileSync(path, data);
  return path;
}

async function swaks(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('swaks', args, { timeout: 20_000 });
    return stdout;
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('swaks is not installed (apt-get install swaks; .ci/run does it)');
    throw new Error(`swaks failed:\n${e.stdout}\n${e.stderr}`);
  }
}

describe('swaks', () => {
  const file = corpus('plain-rfc822.eml');
  // swaks ends the data it sends with one more CRLF than the file has.
  const message = Buffer.concat([file, Buffer.from('\r\n')]);
  const base = (port: number) => [
    '--server',
    `127.0.0.1:${port}`,
    '--from',
    ALICE,
    '--to',
    BOB,
    '--data',
    `@${tempFile('plain.eml', file)}`,
    '--helo',
    'swaks.example.net',
  ];

  it.each([
    ['CRAM-MD5', ['--auth', 'CRAM-MD5'], 'ESMTPA'],
    ['DIGEST-MD5', ['--auth', 'DIGEST-MD5'], 'ESMTPA'],
    ['PLAIN over STARTTLS', ['--auth', 'PLAIN', '--tls'], 'ESMTPSA'],
    ['LOGIN with --pipeline', ['--auth', 'LOGIN', '--pipeline'], 'ESMTPA'],
  ])('submits with %s on 587', async (_name, extra, protocol) => {
    const out = await swaks([
      ...base(t.ports.submission),
      ...extra,
      '--auth-user',
      ALICE,
      '--auth-password',
      USERS.alice,
    ]);
    const queueId = queueIdOf(out);
    const received = await expectQueued(queueId, message, [BOB]);
    expect(received).toContain(`with ${protocol} id ${queueId}`);
    expect(received).toContain('from swaks.example.net');
  });

  it('submits over implicit TLS on 465', async () => {
    const out = await swaks([
      ...base(t.ports.submissions),
      '--tls-on-connect',
      '--auth',
      'PLAIN',
      '--auth-user',
      ALICE,
      '--auth-password',
      USERS.alice,
    ]);
    const received = await expectQueued(queueIdOf(out), message, [BOB]);
    expect(received).toContain('with ESMTPSA');
  });

  it('delivers to a local user on port 25 without authentication', async () => {
    const out = await swaks(base(t.ports.mx));
    const received = await expectQueued(queueIdOf(out), message, [BOB]);
    expect(received).toContain('with ESMTP id');
  });
});

describe('curl', () => {
  it.each([
    ['smtp:// on 587', 'submission', 'smtp'],
    ['smtps:// on 465', 'submissions', 'smtps'],
  ] as const)('submits with %s', async (_name, listener, scheme) => {
    const message = corpus('iso2022jp-attachments.eml');
    const { stdout, stderr } = await run(
      'curl',
      [
        '-sS',
        '-v',
        '-k',
        `${scheme}://127.0.0.1:${t.ports[listener]}`,
        '--mail-from',
        ALICE,
        '--mail-rcpt',
        BOB,
        '--mail-rcpt',
        `sales@${DOMAIN}`,
        '--user',
        `${ALICE}:${USERS.alice}`,
        '--upload-file',
        tempFile(`curl-${listener}.eml`, message),
      ],
      { timeout: 20_000 },
    );
    const queueId = queueIdOf(stdout + stderr);
    await expectQueued(queueId, message, [BOB, `sales@${DOMAIN}`]);
  });
});

describe("python's smtplib", () => {
  it('submits with starttls and login', async () => {
    const message = corpus('nested-alternative-rfc822.eml');
    const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', ${t.ports.submission}, local_hostname='python.example.net')
s.starttls(context=ctx)
s.login('${ALICE}', '${USERS.alice}')
msg = open(sys.argv[1], 'rb').read()
s.mail('${ALICE}'); s.rcpt('${BOB}')
code, text = s.data(msg)
print(code, text.decode())
s.quit()
`;
    const { stdout } = await run('python3', ['-c', script, tempFile('python.eml', message)], {
      timeout: 20_000,
    });
    expect(stdout).toMatch(/^250 2\.0\.0 Ok: queued as/);
    const received = await expectQueued(queueIdOf(stdout), message, [BOB]);
    expect(received).toContain('with ESMTPSA');
  });
});

describe('nodemailer', () => {
  it('submits over STARTTLS with AUTH', async () => {
    const message = corpus('shift-jis-body.eml');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submission,
      secure: false,
      requireTLS: true,
      name: 'nodemailer.example.net',
      tls: { rejectUnauthorized: false },
      auth: { user: ALICE, pass: USERS.alice },
    });
    const info = await transport.sendMail({ envelope: { from: ALICE, to: [BOB] }, raw: message });
    transport.close();
    const received = await expectQueued(queueIdOf(info.response), message, [BOB]);
    expect(received).toContain('with ESMTPSA');
  });
});
