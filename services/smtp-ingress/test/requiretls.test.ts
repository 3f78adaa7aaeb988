import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress, USERS } from './test-ingress.js';

// RFC 8689 at the door, with Python's smtplib as the client: REQUIRETLS is offered and
// taken only over TLS, and the queue row keeps REQUIRETLS or "TLS-Required: No".

const run = promisify(execFile);
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

// One transaction: EHLO (and STARTTLS, or TLS from the start), then MAIL with the options
// given, RCPT and DATA if MAIL was taken. Prints what the server offered and answered.
const CLIENT = `
import json, smtplib, ssl, sys
port, mode, login, options, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'implicit':
    s = smtplib.SMTP_SSL('127.0.0.1', port, local_hostname='python.example.net', context=ctx)
else:
    s = smtplib.SMTP('127.0.0.1', port, local_hostname='python.example.net')
s.ehlo()
offered_in_clear = mode != 'implicit' and s.has_extn('requiretls')
if mode == 'starttls':
    s.starttls(context=ctx); s.ehlo()
offered = s.has_extn('requiretls')
if login:
    s.login('${ALICE}', '${USERS.alice}')
code, text = s.mail('${ALICE}', [o for o in options.split(',') if o])
result = {'offeredInClear': offered_in_clear, 'offered': offered, 'mail': '%d %s' % (code, text.decode())}
if code == 250:
    s.rcpt('${BOB}')
    code, text = s.data(open(path, 'rb').read())
    result['data'] = '%d %s' % (code, text.decode())
s.quit()
print(json.dumps(result))
`;

interface Exchange {
  offeredInClear: boolean;
  offered: boolean;
  mail: string;
  data?: string;
}

async function transaction(
  port: number,
  mode: 'starttls' | 'implicit' | 'plain',
  options: string[],
  header = '',
  login = true,
): Promise<Exchange> {
  const path = join(tmpdir(), `tegami-requiretls-${process.pid}-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(path, `${header}From: <${ALICE}>\r\nTo: <${BOB}>\r\nSubject: secret\r\n\r\nhello\r\n`);
  const { stdout } = await run(
    'python3',
    ['-c', CLIENT, String(port), mode, login ? '1' : '', options.join(','), path],
    { timeout: 20_000 },
  );
  return JSON.parse(stdout) as Exchange;
}

describe('REQUIRETLS at smtp-ingress (RFC 8689)', () => {
  it('offers REQUIRETLS only after STARTTLS and tags a submission that asks for it', async () => {
    const result = await transaction(t.ports.submission, 'starttls', ['REQUIRETLS']);
    expect(result).toMatchObject({ offeredInClear: false, offered: true, mail: '250 2.1.0 Ok' });
    const stored = await t.queued(queueIdOf(result.data!));
    expect(stored).toMatchObject({ state: 'queued', requireTls: true, tlsRequiredNo: false });
  });

  it('offers and takes REQUIRETLS on implicit TLS (465)', async () => {
    const result = await transaction(t.ports.submissions, 'implicit', ['REQUIRETLS']);
    expect(result.offered).toBe(true);
    expect((await t.queued(queueIdOf(result.data!)))?.requireTls).toBe(true);
  });

  it('refuses REQUIRETLS on port 25 in clear with 530 5.7.10, and takes it there after STARTTLS', async () => {
    const clear = await transaction(t.ports.mx, 'plain', ['REQUIRETLS'], '', false);
    expect(clear).toMatchObject({
      offered: false,
      mail: '530 5.7.10 REQUIRETLS needs a TLS session: issue STARTTLS first',
    });
    expect(clear.data).toBeUndefined();
    const secure = await transaction(t.ports.mx, 'starttls', ['REQUIRETLS'], '', false);
    expect((await t.queued(queueIdOf(secure.data!)))?.requireTls).toBe(true);
  });

  it('tags "TLS-Required: No" from the header, on any port', async () => {
    const submitted = await transaction(t.ports.submission, 'starttls', [], 'TLS-Required: No\r\n');
    expect(await t.queued(queueIdOf(submitted.data!))).toMatchObject({
      requireTls: false,
      tlsRequiredNo: true,
    });
    const relayed = await transaction(t.ports.mx, 'plain', [], 'TLS-Required: no\r\n', false);
    expect((await t.queued(queueIdOf(relayed.data!)))?.tlsRequiredNo).toBe(true);
  });

  it('ignores "TLS-Required: No" on a REQUIRETLS message (§4.1) and keeps the field', async () => {
    const result = await transaction(t.ports.submission, 'starttls', ['REQUIRETLS'], 'TLS-Required: No\r\n');
    const stored = await t.queued(queueIdOf(result.data!));
    expect(stored).toMatchObject({ requireTls: true, tlsRequiredNo: false });
    expect(stored!.raw.toString()).toContain('\r\nTLS-Required: No\r\n');
  });

  it('leaves a message with neither untagged', async () => {
    const result = await transaction(t.ports.submission, 'starttls', []);
    expect(await t.queued(queueIdOf(result.data!))).toMatchObject({
      requireTls: false,
      tlsRequiredNo: false,
    });
  });
});
