import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { ImapDeflateClient } from './support/imap-deflate-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// COMPRESS=DEFLATE (RFC 4978), Tegami against Dovecot 2.3 with its imap_zlib plugin: the
// same commands to both, over the same hand-driven raw DEFLATE client, and Python's imaplib
// wrapped in zlib streams against both.
//
// Where they differ, on purpose:
// - an unknown algorithm: Dovecot says NO, Tegami BAD, as RFC 4978 §3 lists it ("BAD
//   Command unknown or arguments invalid"; NO is kept for "already active");
// - input that is not DEFLATE: Dovecot closes without a word (its log says "corrupted
//   data"); Tegami says `* BYE invalid compressed data` first, then closes and logs.

const IMAPLIB_SCRIPT = fileURLToPath(new URL('./support/imaplib_compress.py', import.meta.url));

interface Server {
  readonly name: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

const MESSAGE = Buffer.from(
  'From: a@example.test\r\nTo: b@example.test\r\nSubject: compressed\r\n' +
    'Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n' +
    'the same line again and again\r\n'.repeat(100),
);

const status = (tagged: string) => tagged.split(' ')[1];

describe('COMPRESS=DEFLATE against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let servers: Server[];
  const clients: ImapDeflateClient[] = [];

  const connect = async (server: Server) => {
    const client = await ImapDeflateClient.connect(server.port);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap({ compress: true }),
      startImapGatewayUnderTest('imap-compress-dovecot'),
    ]);
    servers = [
      { name: 'dovecot', port: dovecot.port, user: dovecot.user, password: dovecot.password },
      { name: 'tegami', port: tegami.port, user: tegami.user, password: tegami.password },
    ];
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('offers it after login only, refuses it before, and checks its argument alike', async () => {
    const seen: Record<string, string[]> = {};
    for (const server of servers) {
      const client = await connect(server);
      const steps: string[] = [];
      steps.push(`greeting offers: ${client.greeting.includes('COMPRESS=DEFLATE')}`);
      steps.push(`before login: ${status((await client.command('COMPRESS DEFLATE')).tagged)}`);
      const login = await client.command(`LOGIN "${server.user}" "${server.password}"`);
      steps.push(`login offers: ${login.tagged.includes(' COMPRESS=DEFLATE')}`);
      steps.push(`no argument: ${status((await client.command('COMPRESS')).tagged)}`);
      steps.push(`quoted: ${status((await client.command('COMPRESS "DEFLATE"')).tagged)}`);
      steps.push(`compress: ${status((await client.compress()).tagged)}`);
      const caps = await client.command('CAPABILITY');
      steps.push(`still offered: ${caps.untagged.join(' ').includes(' COMPRESS=DEFLATE')}`);
      const again = await client.command('COMPRESS DEFLATE');
      steps.push(`again: ${/^\S+ NO \[COMPRESSIONACTIVE\]/.test(again.tagged)}`);
      seen[server.name] = steps;
    }
    expect(seen.tegami).toEqual(seen.dovecot);
    expect(seen.tegami).toEqual([
      'greeting offers: false',
      'before login: BAD',
      'login offers: true',
      'no argument: BAD',
      'quoted: BAD',
      'compress: OK',
      'still offered: true',
      'again: true',
    ]);
  });

  it('differs on an unknown algorithm: Dovecot NO, Tegami BAD (RFC 4978 §3)', async () => {
    const answers: Record<string, string> = {};
    for (const server of servers) {
      const client = await connect(server);
      await client.command(`LOGIN "${server.user}" "${server.password}"`);
      answers[server.name] = status((await client.command('COMPRESS LZW')).tagged)!;
    }
    expect(answers).toEqual({ dovecot: 'NO', tegami: 'BAD' });
  });

  it('serves SELECT, APPEND, FETCH, IDLE and LOGOUT alike once compressed', async () => {
    const seen: Record<string, string[]> = {};
    for (const server of servers) {
      const client = await connect(server);
      await client.command(`LOGIN "${server.user}" "${server.password}"`);
      await client.compress();
      const steps: string[] = [];
      const select = await client.command('SELECT INBOX');
      steps.push(`select: ${status(select.tagged)}`);
      const exists = Number(/^\* (\d+) EXISTS/m.exec(select.untagged.join('\r\n'))![1]);
      steps.push(`append: ${status((await client.append('INBOX', MESSAGE)).tagged)}`);
      const fetch = await client.command(`FETCH ${exists + 1} BODY.PEEK[]`);
      const body = fetch.untagged.find((r) => r.includes('BODY[]')) ?? '';
      steps.push(
        `fetch: ${status(fetch.tagged)} ${body.includes(`{${MESSAGE.length}}\r\n${MESSAGE.toString('latin1')})`)}`,
      );
      steps.push(`compressed on the wire: ${client.wireIn < client.plainIn / 2}`);

      const tag = client.tag();
      await client.write(`${tag} IDLE\r\n`);
      steps.push(`idle: ${(await client.readResponse()).slice(0, 1)}`);
      const other = await connect(server);
      await other.command(`LOGIN "${server.user}" "${server.password}"`);
      await other.append('INBOX', MESSAGE);
      steps.push(`pushed: ${await client.readResponse(10_000)}`.replace(String(exists + 2), 'N'));
      await client.write('DONE\r\n');
      let done = await client.readResponse();
      while (done.startsWith('* ')) done = await client.readResponse();
      steps.push(`done: ${status(done)}`);
      const logout = await client.command('LOGOUT');
      steps.push(`logout: ${logout.untagged[0]?.slice(0, 5)} ${status(logout.tagged)}`);
      await client.ended();
      seen[server.name] = steps;
    }
    expect(seen.tegami).toEqual(seen.dovecot);
    expect(seen.tegami).toContain('pushed: * N EXISTS');
  });

  it('closes on input that is not DEFLATE: Dovecot silently, Tegami with BYE', async () => {
    const last: Record<string, string> = {};
    for (const server of servers) {
      const client = await connect(server);
      await client.command(`LOGIN "${server.user}" "${server.password}"`);
      await client.compress();
      client.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      last[server.name] = await client.readResponse(5_000).catch(() => '(closed)');
      await client.ended();
    }
    expect(last).toEqual({ dovecot: '(closed)', tegami: '* BYE invalid compressed data' });
    expect(dovecot.log()).toMatch(/corrupted data/);
  });

  it("works with Python's imaplib wrapped in zlib raw streams on both", async () => {
    for (const server of servers) {
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          'python3',
          [IMAPLIB_SCRIPT, '127.0.0.1', String(server.port), server.user, server.password],
          { timeout: 20_000 },
          (err, stdout, stderr) =>
            err ? reject(new Error(`${server.name}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
        );
      });
      expect(output, server.name).toContain('compress: OK');
      expect(output, server.name).toContain('fetch: OK body matches');
      expect(output, server.name).toContain('logout: BYE');
    }
  });
});
