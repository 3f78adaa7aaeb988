import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// A Thunderbird-style QRESYNC reconnect (RFC 7162 §3.2.5) scripted with Python's imaplib
// (test/support/imaplib_qresync.py): sync, go away while another device flags and expunges,
// come back with SELECT (QRESYNC …), apply VANISHED (EARLIER) and the FETCHes, and compare
// the cache with a full resync. Run against Tegami and against Dovecot; both must agree.

const SCRIPT = fileURLToPath(new URL('./support/imaplib_qresync.py', import.meta.url));

function runScript(port: number, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [SCRIPT, '127.0.0.1', String(port), user, password],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
}

describe('QRESYNC reconnect with imaplib', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap(),
      startImapGatewayUnderTest('imap-qresync-imaplib'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('brings the client cache to what a full resync gives, as Dovecot does', async () => {
    const [theirs, ours] = await Promise.all([
      runScript(dovecot.port, dovecot.user, dovecot.password),
      runScript(tegami.port, tegami.user, tegami.password),
    ]);
    for (const output of [theirs, ours]) {
      expect(output).toContain('resync: vanished 3,5; 1 changed');
      expect(output).toContain('cache matches a full sync');
    }
    const cacheOf = (output: string) => /^cache: .*$/m.exec(output)![0];
    expect(cacheOf(ours)).toBe(cacheOf(theirs));
    expect(cacheOf(ours)).toBe("cache: [(1, []), (2, ['\\\\Flagged']), (4, [])]");
  });
});
