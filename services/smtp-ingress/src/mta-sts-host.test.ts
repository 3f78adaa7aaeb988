import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mtaStsPolicyId } from '@tegami/protocol';
import { createLogger } from '@tegami/runtime';
import { createTestCa, runProgram, type TestCa } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MtaStsHost, startMtaStsHost } from './mta-sts-host.js';

// Our policy host, asked the way senders ask it: curl over HTTPS with the test CA trusted.

const POLICY = { mode: 'enforce' as const, mx: ['mx.one.test', '*.mx.two.test'], maxAge: 86400 };
const TEXT = 'version: STSv1\r\nmode: enforce\r\nmx: mx.one.test\r\nmx: *.mx.two.test\r\nmax_age: 86400\r\n';
const logger = createLogger({ service: 'mta-sts-host-test', level: 'silent' });
let ca: TestCa;
let caFile: string;
let https: MtaStsHost;
let plain: MtaStsHost;
let domains = ['one.test', 'two.test'];

/** curl as a sender: the name resolved to loopback, the test CA trusted, -w for the status and type. */
async function curl(host: string, path: string, port = https.port, more: string[] = []) {
  const run = await runProgram(
    'curl',
    [
      '-sS',
      '--max-time',
      '10',
      '--resolve',
      `${host}:${port}:127.0.0.1`,
      '--cacert',
      caFile,
      '-w',
      '\n%{http_code} %{content_type}',
      ...more,
      `https://${host}:${port}${path}`,
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  const lines = run.stdout.split('\n');
  const last = lines.pop()!;
  const space = last.indexOf(' ');
  return {
    code: run.code,
    stderr: run.stderr,
    status: Number(last.slice(0, space)),
    type: last.slice(space + 1),
    body: lines.join('\n'),
  };
}

beforeAll(async () => {
  ca = await createTestCa();
  caFile = join(mkdtempSync(join(tmpdir(), 'tegami-mta-sts-host-')), 'ca.pem');
  writeFileSync(caFile, ca.cert);
  const cert = await ca.issue(['mta-sts.one.test', 'mta-sts.two.test', 'mta-sts.new.test']);
  const deps = { host: '127.0.0.1', port: 0, policy: POLICY, localDomains: async () => domains, logger };
  https = await startMtaStsHost({ ...deps, tls: { cert: cert.cert, key: cert.key } });
  plain = await startMtaStsHost(deps);
});

afterAll(async () => {
  await https?.stop();
  await plain?.stop();
});

describe('the MTA-STS policy host of the local domains', () => {
  it('serves the policy as text/plain over HTTPS to mta-sts.<each local domain>', async () => {
    for (const domain of ['one.test', 'two.test']) {
      const answer = await curl(`mta-sts.${domain}`, '/.well-known/mta-sts.txt');
      expect(answer, answer.stderr).toMatchObject({
        code: 0,
        status: 200,
        type: 'text/plain; charset=utf-8',
      });
      expect(answer.body).toBe(TEXT);
    }
    expect(https.policyText).toBe(TEXT);
    expect(https.policyId).toBe(mtaStsPolicyId(TEXT));
  });

  it('answers 404 for another path, another host name, or a domain that is not local', async () => {
    expect((await curl('mta-sts.one.test', '/')).status).toBe(404);
    expect((await curl('mta-sts.one.test', '/.well-known/mta-sts.txt?x=1')).status).toBe(404);
    expect((await curl('mta-sts.new.test', '/.well-known/mta-sts.txt')).status).toBe(404);
    const byAddress = await fetch(`http://127.0.0.1:${plain.port}/.well-known/mta-sts.txt`);
    expect(byAddress.status).toBe(404);
    const post = await curl('mta-sts.one.test', '/.well-known/mta-sts.txt', https.port, ['-X', 'POST']);
    expect(post.status).toBe(404);
  });

  it('serves a domain added since, once the list of local domains has it', async () => {
    domains = [...domains, 'new.test'];
    expect((await curl('mta-sts.new.test', '/.well-known/mta-sts.txt')).status).toBe(200);
  });

  it('speaks plain HTTP when no certificate is given, for behind a proxy that does TLS', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: plain.port,
          path: '/.well-known/mta-sts.txt',
          headers: { host: 'mta-sts.one.test' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 200, body: TEXT });
  });

  it('refuses a request whose header is over 8 KiB', async () => {
    const answer = await curl('mta-sts.one.test', '/.well-known/mta-sts.txt', https.port, [
      '-H',
      `X-Padding: ${'a'.repeat(9000)}`,
    ]);
    expect(answer.status).not.toBe(200);
  });
});
