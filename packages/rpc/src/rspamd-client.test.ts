import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { freePort, rspamdInstalled, startTestRspamd, type TestRspamd } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRspamdClient, type RspamdCheckInput, RspamdError } from './rspamd-client.js';

// The client against Debian's rspamd, run privately by @tegami/testing's startTestRspamd,
// and against servers of our own that misbehave as no rspamd should (silence, garbage).

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** A message as smtp-ingress stores it: its Received and Authentication-Results first. */
function message(body: string, extraHeaders = ''): Buffer {
  // Dated now: rspamd scores a Date more than a day old (DATE_IN_PAST), which would move
  // the scores this file checks as the calendar moves.
  const now = new Date().toUTCString().replace('GMT', '+0000');
  const header = [
    'Received: from mail.example.com (mail.example.com [192.0.2.10])',
    `\tby mx.example.test (Tegami) with ESMTPS id Q1; ${now}`,
    'Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=example.com',
    'From: Alice Example <alice@example.com>',
    'To: Bob Example <bob@example.test>',
    'Subject: Lunch tomorrow',
    `Message-ID: <${randomUUID()}@example.com>`,
    `Date: ${now}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ].join('\r\n');
  return Buffer.from(`${header}\r\n${extraHeaders}\r\n${body}\r\n`);
}

const LUNCH =
  'Hello Bob, shall we meet for lunch tomorrow at the usual place near the station? ' +
  'I will bring the documents about the project plan we discussed last week.\r\nAlice';

function envelope(msg: Buffer, extra: Partial<RspamdCheckInput> = {}): RspamdCheckInput {
  return {
    message: msg,
    ip: '192.0.2.10',
    helo: 'mail.example.com',
    from: 'alice@example.com',
    recipients: ['bob@example.test'],
    queueId: `Q${randomUUID().slice(0, 8)}`,
    hostname: 'mail.example.com',
    mtaName: 'mx.example.test',
    ...extra,
  };
}

describe.skipIf(!rspamdInstalled())(
  'rspamd client against rspamd 3.4 (needs /usr/bin/rspamd: apt-get install rspamd)',
  () => {
    let rspamd: TestRspamd;
    const client = () =>
      createRspamdClient({
        url: rspamd.url,
        controllerUrl: rspamd.controllerUrl,
        password: rspamd.password,
        timeoutMs: 20_000,
      });

    beforeAll(async () => {
      rspamd = await startTestRspamd();
    }, 180_000);
    afterAll(async () => {
      await rspamd?.stop();
    });

    it('rejects the GTUBE test string', async () => {
      const verdict = await client().check(envelope(message(`This is spam.\r\n${GTUBE}`)));
      expect(verdict.action).toBe('reject');
      expect(verdict.symbols).toContain('GTUBE');
      expect(verdict.score).toBeGreaterThanOrEqual(verdict.requiredScore);
    });

    it('lets a plain message through, with its score and the X-Spam headers to add', async () => {
      const verdict = await client().check(envelope(message(LUNCH)));
      expect(['no action', 'add header']).toContain(verdict.action);
      expect(verdict.action).toBe('no action');
      expect(verdict.score).toBeLessThan(verdict.requiredScore);
      expect(verdict.requiredScore).toBe(15);
      expect(verdict.symbols.length).toBeGreaterThan(0);
      const names = verdict.addHeaders.map((h) => h.name);
      expect(names).toContain('X-Spamd-Result');
      expect(verdict.addHeaders.find((h) => h.name === 'X-Spam-Status')?.value).toMatch(
        /^No, score=-?\d+\.\d\d$/,
      );
      expect(names).not.toContain('X-Spam');
      expect(verdict.removeHeaders).toEqual(
        expect.arrayContaining(['X-Spam', 'X-Spamd-Result', 'X-Spam-Status']),
      );
      expect(verdict.subject).toBeUndefined();
    });

    it('gives add header and rewrite subject with their headers and the new Subject', async () => {
      const marked = await client().check(envelope(message(LUNCH, 'X-Tegami-Test-Score: 7\r\n')));
      expect(marked.action).toBe('add header');
      expect(marked.symbols[0]).toBe('TEGAMI_TEST_SCORE');
      expect(marked.addHeaders).toContainEqual({ name: 'X-Spam', value: 'Yes' });
      expect(marked.addHeaders.find((h) => h.name === 'X-Spam-Status')?.value).toMatch(
        /^Yes, score=7\.\d\d$/,
      );
      const rewritten = await client().check(envelope(message(LUNCH, 'X-Tegami-Test-Score: 12\r\n')));
      expect(rewritten.action).toBe('rewrite subject');
      expect(rewritten.subject).toBe('***SPAM*** Lunch tomorrow');
      const greylisted = await client().check(envelope(message(LUNCH, 'X-Tegami-Test-Score: 4.5\r\n')));
      expect(greylisted.action).toBe('greylist');
    });

    it('hands rspamd the whole envelope: client, HELO, sender, every recipient, queue id, user', async () => {
      const queueId = `Q${randomUUID().slice(0, 12)}`;
      await client().check(
        envelope(message(LUNCH), {
          queueId,
          ip: '::ffff:192.0.2.77',
          recipients: ['bob@example.test', 'carol@example.test'],
          user: 'alice@example.com',
        }),
      );
      // rspamd's own log line for the task names what it was told.
      const line = rspamd
        .log()
        .split('\n')
        .find((l) => l.includes(`qid: <${queueId}>`));
      expect(line, rspamd.log().slice(-3000)).toBeDefined();
      expect(line).toContain('ip: 192.0.2.77');
      expect(line).toContain('user: alice@example.com');
      expect(line).toContain('from: <alice@example.com>');
      expect(line).toContain('rcpts: <bob@example.test,carol@example.test>');
    });

    it('scans a message from the null sender', async () => {
      const queueId = `Q${randomUUID().slice(0, 12)}`;
      const verdict = await client().check(envelope(message(LUNCH), { from: '', queueId }));
      expect(verdict.action).not.toBe('reject');
      const line = rspamd
        .log()
        .split('\n')
        .find((l) => l.includes(`qid: <${queueId}>`));
      expect(line).toBeDefined();
      expect(line).not.toContain('from: <alice');
    });

    it('learns spam once, answers already-learned the second time, and /stat counts the learn', async () => {
      const before = await rspamd.stat();
      const bayesBefore = await rspamd.bayesLearns();
      const spam = message(`Cheap watches and pills, buy now and win a prize today! ${LUNCH}`);
      expect(await client().learn('spam', spam)).toBe('learned');
      expect(await client().learn('spam', spam)).toBe('already-learned');
      expect((await rspamd.stat()).learned).toBe(before.learned + 1);
      expect(await rspamd.bayesLearns()).toEqual({ spam: bayesBefore.spam + 1, ham: bayesBefore.ham });
      // The same message as ham is a relearn: it moves from one class to the other.
      expect(await client().learn('ham', spam)).toBe('learned');
      expect(await rspamd.bayesLearns()).toEqual({ spam: bayesBefore.spam, ham: bayesBefore.ham + 1 });
    });

    it('says why rspamd did not learn: too few words (204), a wrong password (401)', async () => {
      const short = Buffer.from('Subject: hi\r\n\r\nhi\r\n');
      const tooShort = await client()
        .learn('spam', short)
        .catch((err: unknown) => err);
      expect(tooShort).toBeInstanceOf(RspamdError);
      expect(tooShort).toMatchObject({ kind: 'http', status: 204 });
      const wrong = createRspamdClient({
        controllerUrl: rspamd.controllerUrl,
        password: 'wrong',
        timeoutMs: 20_000,
      });
      const refused = await wrong.learn('spam', message(LUNCH)).catch((err: unknown) => err);
      expect(refused).toMatchObject({ kind: 'http', status: 401 });
      expect((refused as Error).message).toContain('Unauthorized');
    });

    it('is unreachable once rspamd has stopped', async () => {
      const own = await startTestRspamd();
      const ownClient = createRspamdClient({
        url: own.url,
        controllerUrl: own.controllerUrl,
        timeoutMs: 20_000,
      });
      expect((await ownClient.check(envelope(message(LUNCH)))).action).toBe('no action');
      await own.stop();
      const checked = await ownClient.check(envelope(message(LUNCH))).catch((err: unknown) => err);
      expect(checked).toBeInstanceOf(RspamdError);
      expect(checked).toMatchObject({ kind: 'unreachable' });
      const learned = await ownClient.learn('spam', message(LUNCH)).catch((err: unknown) => err);
      expect(learned).toMatchObject({ kind: 'unreachable' });
    }, 180_000);
  },
);

describe('rspamd client against servers that are not rspamd', () => {
  let silent: Server;
  let silentPort: number;
  const held = new Set<Socket>();
  let odd: HttpServer;
  let oddPort: number;

  beforeAll(async () => {
    // Accepts, reads, and never answers: a hung rspamd.
    silent = createServer((socket) => {
      held.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => held.delete(socket));
    });
    silentPort = await listen(silent);
    odd = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/garbage/checkv2') res.end('<html>not rspamd</html>');
        else if (req.url === '/huge/checkv2') res.end('x'.repeat(64 * 1024));
        else if (req.url === '/broken/checkv2') {
          res.writeHead(200, { 'Content-Length': '1000' });
          res.write('{"action":');
          setTimeout(() => res.socket?.destroy(), 50);
        } else if (req.url === '/error/checkv2') {
          res.writeHead(500, 'Internal Error', { 'Content-Type': 'application/json' });
          res.end('{"error":"something broke"}');
        } else if (req.url === '/echo/checkv2') {
          // Shows what the client sent, as rspamd would see it.
          res.end(
            JSON.stringify({
              action: 'no action',
              score: 0,
              required_score: 15,
              symbols: Object.fromEntries(
                req.rawHeaders
                  .map((v, i) => (i % 2 === 0 ? `${v}=${req.rawHeaders[i + 1]}` : undefined))
                  .filter((v): v is string => v !== undefined)
                  .map((h) => [Buffer.from(h, 'latin1').toString('utf8'), { score: 0 }]),
              ),
            }),
          );
        } else res.end('{"success":false}');
      });
    });
    oddPort = await listen(odd);
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((r) => silent.close(r));
    await new Promise((r) => odd.close(r));
  });

  it('times out within timeoutMs when rspamd accepts and never answers', async () => {
    const client = createRspamdClient({ url: `http://127.0.0.1:${silentPort}`, timeoutMs: 500 });
    const started = Date.now();
    const err = await client.check(envelope(message(LUNCH))).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(RspamdError);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5_000);
  });

  it('times out a learn too, and leaves no connection behind', async () => {
    const client = createRspamdClient({ controllerUrl: `http://127.0.0.1:${silentPort}`, timeoutMs: 300 });
    expect(await client.learn('ham', message(LUNCH)).catch((e: unknown) => e)).toMatchObject({
      kind: 'timeout',
    });
    // The client closed its side: the server sees the connection end.
    await waitUntil(() => held.size === 0, 5_000);
  });

  it('stops when the caller aborts, with the caller’s reason', async () => {
    const client = createRspamdClient({ url: `http://127.0.0.1:${silentPort}`, timeoutMs: 30_000 });
    const controller = new AbortController();
    const pending = client.check(envelope(message(LUNCH)), controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    expect(await pending).toMatchObject({ message: 'shutting down' });
    const aborted = AbortSignal.abort(new Error('already'));
    expect(await client.check(envelope(message(LUNCH)), aborted).catch((e: unknown) => e)).toMatchObject({
      message: 'already',
    });
  });

  it('is unreachable when nothing listens', async () => {
    const client = createRspamdClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 5_000 });
    expect(await client.check(envelope(message(LUNCH))).catch((e: unknown) => e)).toMatchObject({
      kind: 'unreachable',
    });
  });

  it('calls a reply that is not a verdict a protocol error: garbage, too long, cut off', async () => {
    for (const path of ['garbage', 'huge', 'broken']) {
      const client = createRspamdClient({
        url: `http://127.0.0.1:${oddPort}/${path}`,
        timeoutMs: 5_000,
        maxReplyBytes: 16 * 1024,
      });
      const err = await client.check(envelope(message(LUNCH))).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(RspamdError);
      expect(err, path).toMatchObject({ kind: 'protocol' });
    }
  });

  it('reports an HTTP error with its status and rspamd’s words', async () => {
    const client = createRspamdClient({ url: `http://127.0.0.1:${oddPort}/error`, timeoutMs: 5_000 });
    const err = await client.check(envelope(message(LUNCH))).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'http', status: 500 });
    expect((err as Error).message).toContain('something broke');
  });

  it('refuses a learn answered 200 without success', async () => {
    const client = createRspamdClient({ controllerUrl: `http://127.0.0.1:${oddPort}`, timeoutMs: 5_000 });
    expect(await client.learn('spam', message(LUNCH)).catch((e: unknown) => e)).toMatchObject({
      kind: 'protocol',
    });
  });

  it('sends one Rcpt field per recipient, UTF-8 addresses as their bytes, and no control characters', async () => {
    const client = createRspamdClient({ url: `http://127.0.0.1:${oddPort}/echo`, timeoutMs: 5_000 });
    const verdict = await client.check(
      envelope(message(LUNCH), {
        recipients: ['bob@example.test', 'ゆう@example.test'],
        helo: 'evil\r\nX-Injected: 1',
        from: '',
        user: 'alice',
      }),
    );
    expect(verdict.symbols).toEqual(
      expect.arrayContaining([
        'Rcpt=bob@example.test',
        'Rcpt=ゆう@example.test',
        'From=<>',
        'Helo=evilX-Injected: 1',
        'User=alice',
        'IP=192.0.2.10',
        'Hostname=mail.example.com',
        'MTA-Name=mx.example.test',
      ]),
    );
    expect(verdict.symbols.filter((s) => s.startsWith('Queue-Id='))).toHaveLength(1);
  });

  it('refuses options it cannot use', () => {
    expect(() => createRspamdClient({ url: 'ftp://rspamd', timeoutMs: 1000 })).toThrow(TypeError);
    expect(() => createRspamdClient({ url: 'not a url', timeoutMs: 1000 })).toThrow(TypeError);
    expect(() => createRspamdClient({ url: 'http://rspamd:11333', timeoutMs: 0 })).toThrow(TypeError);
    expect(() => createRspamdClient({ url: 'http://rspamd:11333', timeoutMs: 2 ** 31 })).toThrow(TypeError);
  });
});

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
