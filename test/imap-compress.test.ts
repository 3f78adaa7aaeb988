import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCertificate } from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapDeflateClient } from './support/imap-deflate-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// COMPRESS=DEFLATE (RFC 4978) against the real gateway (Postgres, NATS, sockets, TLS):
// the client below drives its own zlib raw DEFLATE streams, and Python's imaplib does the
// same with zlib.compressobj(wbits=-15) around its socket.

const IMAPLIB_SCRIPT = fileURLToPath(new URL('./support/imaplib_compress.py', import.meta.url));

/** A message that compresses well, as mail does: repeated header-like lines. */
function message(subject: string): Buffer {
  const body = Array.from(
    { length: 200 },
    (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`,
  );
  return Buffer.from(
    `From: sender@example.test\r\nTo: tester@example.test\r\nSubject: ${subject}\r\n` +
      `Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n${body.join('\r\n')}\r\n`,
  );
}

const ok = (tagged: string) => expect(tagged).toMatch(/^\S+ OK /);

describe('COMPRESS=DEFLATE against the gateway', () => {
  let gateway: ImapGatewayUnderTest;
  const clients: ImapDeflateClient[] = [];

  const connect = async (tls = false) => {
    const client = await ImapDeflateClient.connect(tls ? gateway.tlsPort! : gateway.port, tls);
    clients.push(client);
    return client;
  };
  const loggedIn = async (tls = false) => {
    const client = await connect(tls);
    ok((await client.command(`LOGIN "${gateway.user}" "${gateway.password}"`)).tagged);
    return client;
  };

  beforeAll(async () => {
    const certificate = await createCertificate(['localhost', '127.0.0.1']);
    gateway = await startImapGatewayUnderTest('imap-compress', {
      tls: { cert: Buffer.from(certificate.cert), key: Buffer.from(certificate.key) },
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await gateway?.stop();
  });

  it('LOGIN, COMPRESS, SELECT, APPEND, FETCH, IDLE with a push from another session, LOGOUT', async () => {
    const client = await connect();
    expect(client.greeting).not.toContain('COMPRESS');
    const login = await client.command(`LOGIN "${gateway.user}" "${gateway.password}"`);
    ok(login.tagged);
    expect(login.tagged).toContain(' COMPRESS=DEFLATE');

    ok((await client.compress()).tagged);
    expect(client.compressing).toBe(true);
    const caps = await client.command('CAPABILITY');
    expect(caps.untagged[0]).toContain(' COMPRESS=DEFLATE');

    const select = await client.command('SELECT INBOX');
    ok(select.tagged);
    const exists = Number(/^\* (\d+) EXISTS/m.exec(select.untagged.join('\r\n'))![1]);

    const raw = message('compressed APPEND');
    const append = await client.append('INBOX', raw);
    expect(append.tagged).toMatch(/^\S+ OK \[APPENDUID \d+ \d+\]/);
    const uid = Number(/APPENDUID \d+ (\d+)/.exec(append.tagged)![1]);

    const fetch = await client.command(`UID FETCH ${uid} (FLAGS BODY.PEEK[])`);
    ok(fetch.tagged);
    const body = fetch.untagged.find((r) => r.includes('BODY[]'))!;
    expect(body).toContain(`BODY[] {${raw.length}}\r\n${raw.toString('latin1')})`);
    // The server's side really is compressed: fewer octets on the wire than they carry.
    expect(client.wireIn).toBeLessThan(client.plainIn / 2);

    // IDLE: another session's APPEND is pushed, flushed at once, with nothing from the client.
    const tag = client.tag();
    await client.write(`${tag} IDLE\r\n`);
    expect(await client.readResponse()).toMatch(/^\+ /);
    const other = await loggedIn();
    ok((await other.append('INBOX', message('pushed during IDLE'))).tagged);
    const pushed = await client.readResponse(10_000);
    expect(pushed).toBe(`* ${exists + 2} EXISTS`);
    await client.write('DONE\r\n');
    let done = await client.readResponse();
    while (done.startsWith('* ')) done = await client.readResponse();
    expect(done).toBe(`${tag} OK IDLE terminated`);

    const logout = await client.command('LOGOUT');
    expect(logout.untagged[0]).toMatch(/^\* BYE /);
    ok(logout.tagged);
    await client.ended();
  });

  it('refuses a second COMPRESS with NO [COMPRESSIONACTIVE], and an unknown algorithm with BAD', async () => {
    const client = await loggedIn();
    expect((await client.command('COMPRESS LZ77')).tagged).toMatch(/^\S+ BAD /);
    ok((await client.compress()).tagged);
    expect((await client.command('COMPRESS DEFLATE')).tagged).toMatch(/^\S+ NO \[COMPRESSIONACTIVE\]/);
    ok((await client.command('NOOP')).tagged);
  });

  it('is refused before login', async () => {
    const client = await connect();
    expect((await client.command('COMPRESS DEFLATE')).tagged).toMatch(/^\S+ BAD /);
  });

  it('works after STARTTLS', async () => {
    const client = await connect();
    expect(client.greeting).toContain('STARTTLS');
    ok((await client.startTls()).tagged);
    ok((await client.command(`LOGIN "${gateway.user}" "${gateway.password}"`)).tagged);
    ok((await client.compress()).tagged);
    const list = await client.command('LIST "" "*"');
    ok(list.tagged);
    expect(list.untagged.join('\n')).toContain('INBOX');
    ok((await client.command('LOGOUT')).tagged);
  });

  it('works on implicit TLS (IMAPS)', async () => {
    const client = await loggedIn(true);
    ok((await client.compress()).tagged);
    ok((await client.command('SELECT INBOX')).tagged);
    ok((await client.command('NOOP')).tagged);
  });

  it('holds the command size limit against the decompressed stream', async () => {
    const client = await loggedIn();
    ok((await client.compress()).tagged);
    // 1 MB of one line goes as a few KiB of DEFLATE; the 64 KiB limit still sees 1 MB.
    const tag = client.tag();
    await client.write(`${tag} NOOP ${'x'.repeat(1_000_000)}\r\n`);
    expect(await client.collect(tag)).toEqual({
      tagged: expect.stringMatching(/^\S+ BAD \[TOOBIG\]/),
      untagged: [],
    });
    ok((await client.command('NOOP')).tagged);
  });

  it('closes with BYE on input that is not DEFLATE, and goes on serving others', async () => {
    const client = await loggedIn();
    ok((await client.compress()).tagged);
    client.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(await client.readResponse()).toBe('* BYE invalid compressed data');
    await client.ended();
    const next = await loggedIn();
    ok((await next.command('NOOP')).tagged);
  });

  it('works with imapflow, which takes STARTTLS and turns COMPRESS on by itself, IDLE included', async () => {
    const options = {
      host: '127.0.0.1',
      port: gateway.port,
      secure: false,
      // It takes STARTTLS when offered: the test's own certificate.
      tls: { rejectUnauthorized: false },
      auth: { user: gateway.user, pass: gateway.password },
      logger: false as const,
    };
    const client = new ImapFlow(options);
    await client.connect();
    try {
      // imapflow keeps its inflater here once COMPRESS=DEFLATE is on (no public flag says so).
      expect((client as unknown as { _inflate?: unknown })._inflate).toBeTruthy();
      await client.mailboxOpen('INBOX');
      const raw = message('through imapflow');
      const appended = await client.append('INBOX', raw);
      expect(appended).toBeTruthy();
      const fetched = await client.fetchOne(
        String((appended as { uid: number }).uid),
        { source: true },
        { uid: true },
      );
      expect(fetched ? fetched.source?.equals(raw) : false).toBe(true);
      // IDLE (imapflow idles on its own): another session's APPEND arrives as EXISTS.
      const exists = new Promise<number>((resolve) =>
        client.once('exists', (e: { count: number }) => resolve(e.count)),
      );
      const idling = client.idle();
      const other = await loggedIn();
      ok((await other.append('INBOX', message('pushed to imapflow'))).tagged);
      expect(await exists).toBeGreaterThan(0);
      await client.noop();
      await idling;
    } finally {
      await client.logout();
    }
  });

  it("works with Python's imaplib wrapped in zlib raw streams", async () => {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        'python3',
        [IMAPLIB_SCRIPT, '127.0.0.1', String(gateway.port), gateway.user, gateway.password],
        { timeout: 20_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      );
    });
    expect(output).toContain('compress: OK');
    expect(output).toMatch(/append: OK \[APPENDUID \d+ \d+\]/);
    expect(output).toContain('fetch: OK body matches');
    expect(output).toContain('logout: BYE');
  });
});
