import { LineClient } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlain, ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, startTestIngress, type TestIngress, USERS } from './test-ingress.js';

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

const BOB = `bob@${DOMAIN}`;

async function queueCount(): Promise<number> {
  const result = await t.store.pool.query('SELECT count(*)::int AS n FROM queue');
  return result.rows[0].n;
}

describe('bad input gets the right reply and the session goes on', () => {
  it('answers unknown commands 500, bad sequence 503, bad syntax 501, and overlong lines 500 5.5.2', async () => {
    const client = await LineClient.connect(t.ports.mx);
    expect((await client.readReply()).text).toBe('220 mx.example.test ESMTP Tegami');
    expect((await client.command('MAIL FROM:<a@b.example>')).text).toBe(
      '503 5.5.1 Error: send HELO/EHLO first',
    );
    expect((await client.command('EHLO')).code).toBe(501);
    expect((await client.command('EHLO client.example.net')).code).toBe(250);
    expect((await client.command('FROB')).code).toBe(500);
    expect((await client.command('RCPT TO:<bob@example.test>')).text).toBe(
      '503 5.5.1 Error: need MAIL command',
    );
    expect((await client.command('DATA')).text).toBe('503 5.5.1 Error: need MAIL command');
    expect((await client.command(`NOOP ${'x'.repeat(1200)}`)).text).toBe('500 5.5.2 Error: line too long');
    expect((await client.command('MAIL FROM:<>')).code).toBe(250);
    expect((await client.command('MAIL FROM:<>')).text).toBe('503 5.5.1 Error: nested MAIL command');
    expect((await client.command('DATA')).text).toBe('554 5.5.1 Error: no valid recipients');
    expect((await client.command('QUIT')).text).toBe('221 2.0.0 Bye');
    await client.closedByServer();
  });

  it('refuses a message larger than the limit with 552 5.3.4 after reading it, storing nothing', async () => {
    const before = await queueCount();
    const client = await ehlo(t.ports.mx);
    expect((await client.command('MAIL FROM:<x@elsewhere.example> SIZE=99999999')).text).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size',
    );
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<${BOB}>`);
    const body = `Subject: big\r\n\r\n${'0123456789'.repeat(120_000)}\r\n`;
    expect((await sendData(client, body)).text).toBe(
      '552 5.3.4 Message size exceeds fixed maximum message size',
    );
    expect((await client.command('NOOP')).code).toBe(250);
    expect(await queueCount()).toBe(before);
    client.close();
  });

  it('answers 452 4.5.3 beyond the recipient limit and keeps the ones accepted', async () => {
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<x@elsewhere.example>');
    for (let i = 0; i < 5; i++) expect((await client.command(`RCPT TO:<${BOB}>`)).code).toBe(250);
    expect((await client.command(`RCPT TO:<${BOB}>`)).text).toBe('452 4.5.3 Error: too many recipients');
    expect((await sendData(client, SAMPLE)).code).toBe(250);
    client.close();
  });

  it('closes with 421 4.4.2 when the client is silent past the command timeout', async () => {
    const quick = await startTestIngress({ commandTimeoutMs: 300 });
    try {
      const client = await LineClient.connect(quick.ports.mx);
      await client.readReply();
      expect((await client.readReply(5000)).text).toBe('421 4.4.2 mx.example.test Error: timeout exceeded');
      await client.closedByServer();
    } finally {
      await quick.stop();
    }
  });
});

describe('connection limits', () => {
  it('answers 421 beyond the connections allowed per client address', async () => {
    const tight = await startTestIngress({ maxConnectionsPerAddress: 2 });
    try {
      const first = await LineClient.connect(tight.ports.mx);
      const second = await LineClient.connect(tight.ports.mx);
      expect((await first.readReply()).code).toBe(220);
      expect((await second.readReply()).code).toBe(220);
      const third = await LineClient.connect(tight.ports.mx);
      expect((await third.readReply()).text).toBe(
        '421 4.7.0 mx.example.test Error: too many connections from your address, try again later',
      );
      await third.closedByServer();
      first.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const fourth = await LineClient.connect(tight.ports.mx);
      expect((await fourth.readReply()).code).toBe(220);
      second.close();
      fourth.close();
    } finally {
      await tight.stop();
    }
  });

  it('answers 421 beyond the connections allowed in all', async () => {
    const tight = await startTestIngress({ maxConnections: 1 });
    try {
      const first = await LineClient.connect(tight.ports.mx);
      expect((await first.readReply()).code).toBe(220);
      const second = await LineClient.connect(tight.ports.submission);
      expect((await second.readReply()).text).toMatch(
        /^421 4\.7\.0 .*too many connections, try again later$/,
      );
      first.close();
    } finally {
      await tight.stop();
    }
  });
});

describe('authentication abuse', () => {
  it('delays each failed AUTH more, then disconnects, across connections from one address', async () => {
    const client = await ehlo(t.ports.submission);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      expect((await authPlain(client, `alice@${DOMAIN}`, 'wrong')).text).toBe(
        '535 5.7.8 Authentication credentials invalid',
      );
      times.push(Date.now() - started);
    }
    expect(times[2]!).toBeGreaterThan(times[0]!);
    client.close();
    // A new connection does not start with a clean slate: the fourth failure disconnects.
    const again = await ehlo(t.ports.submission);
    expect((await authPlain(again, `alice@${DOMAIN}`, 'wrong')).code).toBe(535);
    expect((await again.readReply()).text).toMatch(/^421 4\.7\.0 .*too many failures/);
    await again.closedByServer();
  });

  it('refuses PLAIN before TLS from a non-loopback-trusted client with 538 5.7.11, and does not offer it', async () => {
    const strict = await startTestIngress({ plaintextAuthOnLoopback: false });
    try {
      const client = await LineClient.connect(strict.ports.submission);
      await client.readReply();
      const hello = await client.command('EHLO client.example.net');
      expect(hello.lines).toContain('250-AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256');
      expect(hello.lines).toContain('250-STARTTLS');
      expect((await authPlain(client, `alice@${DOMAIN}`, USERS.alice)).text).toBe(
        '538 5.7.11 Encryption required for requested authentication mechanism',
      );
      expect((await client.command('STARTTLS')).text).toBe('220 2.0.0 Ready to start TLS');
      await client.startTls();
      const secured = await client.command('EHLO client.example.net');
      expect(secured.lines).toContain('250-AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256 PLAIN LOGIN');
      expect(secured.lines).not.toContain('250-STARTTLS');
      expect((await authPlain(client, `alice@${DOMAIN}`, USERS.alice)).text).toBe(
        '235 2.7.0 Authentication successful',
      );
      client.close();
    } finally {
      await strict.stop();
    }
  });
});

describe('attacks', () => {
  it.each([
    [
      '<LF>.<LF>',
      'Subject: a\r\n\r\nfirst\n.\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n',
    ],
    [
      '<LF>.<CRLF>',
      'Subject: a\r\n\r\nfirst\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n',
    ],
    [
      '<CR>.<CR>',
      'Subject: a\r\n\r\nfirst\r.\rMAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n',
    ],
  ])('refuses SMTP smuggling with %s: 5xx, nothing stored, never two messages', async (_name, payload) => {
    const before = await queueCount();
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<${BOB}>`);
    expect((await client.command('DATA')).code).toBe(354);
    client.write(payload);
    const answer = await client.readReply();
    expect(answer.code).toBeGreaterThanOrEqual(500);
    expect(answer.text).toContain('bare CR or LF');
    await client.closedByServer();
    expect(await queueCount()).toBe(before);
  });

  it('discards plaintext pipelined after STARTTLS (CVE-2011-0411)', async () => {
    const client = await ehlo(t.ports.mx);
    client.write('STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n');
    expect((await client.readReply()).text).toBe('220 2.0.0 Ready to start TLS');
    await client.startTls();
    // Had the injected commands run, this would be a second MAIL (503) or EHLO would have been skipped.
    expect((await client.command('MAIL FROM:<x@elsewhere.example>')).text).toBe(
      '503 5.5.1 Error: send HELO/EHLO first',
    );
    expect((await client.command('EHLO client.example.net')).code).toBe(250);
    expect((await client.command('MAIL FROM:<x@elsewhere.example>')).code).toBe(250);
    client.close();
  });

  it('answers a pipelined batch in order', async () => {
    const client = await ehlo(t.ports.mx);
    client.write(
      `MAIL FROM:<x@elsewhere.example>\r\nRCPT TO:<${BOB}>\r\nRCPT TO:<nobody@${DOMAIN}>\r\nRCPT TO:<y@elsewhere.example>\r\nDATA\r\n`,
    );
    expect((await client.readReply()).code).toBe(250);
    expect((await client.readReply()).code).toBe(250);
    expect((await client.readReply()).code).toBe(550);
    expect((await client.readReply()).code).toBe(554);
    expect((await client.readReply()).code).toBe(354);
    client.write(`${SAMPLE}.\r\n`);
    expect((await client.readReply()).code).toBe(250);
    client.close();
  });

  it('takes a message in BDAT chunks (CHUNKING)', async () => {
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<x@elsewhere.example>');
    await client.command(`RCPT TO:<${BOB}>`);
    const first = 'Subject: chunks\r\n\r\n';
    const second = 'a line\r\n.not stuffed\r\n';
    client.write(`BDAT ${first.length}\r\n${first}BDAT ${second.length} LAST\r\n${second}`);
    expect((await client.readReply()).text).toBe(`250 2.0.0 ${first.length} octets received`);
    const done = await client.readReply();
    expect(done.text).toMatch(/queued as/);
    const queued = await t.queued(/queued as (\w+)/.exec(done.text)![1]!);
    expect(queued!.raw.toString().endsWith(first + second)).toBe(true);
    client.close();
  });
});
