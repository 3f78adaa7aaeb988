import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSelfSignedCertificate } from '@tegami/runtime';
import { type ProgramRun, runProgram } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotManageSieve, startDovecotManageSieve } from './support/dovecot-managesieve.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// ManageSieve (RFC 5804) end to end: the imap-gateway's listener driven by a real client,
// sieve-connect (Debian's; Perl, Authen::SASL, IO::Socket::SSL), over STARTTLS — it is told
// never to send anything in clear (--noclearchan) and not to check the self-signed
// certificate. The same script files then go to Dovecot's managesieved (Pigeonhole), which
// accepts the good one and refuses the broken one as Tegami does, at the same line.

const dir = mkdtempSync(join(tmpdir(), 'tegami-managesieve-e2e-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

// A filter a user would upload: folders by list, a vacation reply with a non-ASCII text.
const FILTER = file(
  'filter.sieve',
  [
    'require ["fileinto", "vacation", "envelope", "subaddress"];',
    '# Lists into their folder, the rest answered while away.',
    'if header :contains "list-id" "tegami-dev" {',
    '  fileinto "Lists";',
    '  stop;',
    '}',
    'if envelope :detail "to" "spam" {',
    '  discard;',
    '  stop;',
    '}',
    'vacation :days 7 :subject "Absent" "Je suis en congé jusqu’au 3 — réponse à mon retour.";',
    '',
  ].join('\r\n'),
);
// `fileinto "X"` lacks its semicolon: the error is at the `}` of line 5.
const BROKEN = file('broken.sieve', 'require "fileinto";\r\n\r\nif true {\r\n  fileinto "X"\r\n}\r\n');

let tegami: ImapGatewayUnderTest;
let dovecot: DovecotManageSieve;

beforeAll(async () => {
  const tls = await ensureSelfSignedCertificate(join(dir, 'tls'), 'localhost');
  tegami = await startImapGatewayUnderTest('managesieve-e2e', {
    tls: { cert: tls.cert, key: tls.key },
    managesieve: true,
  });
  dovecot = await startDovecotManageSieve({
    tls: { cert: tls.cert, key: tls.key },
    user: tegami.user,
    password: tegami.password,
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await tegami?.stop();
});

/** One sieve-connect run against a server, the password on standard input. */
function sieveConnect(port: number, ...action: string[]): Promise<ProgramRun> {
  return runProgram(
    'sieve-connect',
    [
      '--server',
      '127.0.0.1',
      '--port',
      String(port),
      '--nosrv',
      '--user',
      tegami.user,
      '--passwordfd',
      '0',
      '--notlsverify',
      '--noclearchan',
      ...action,
    ],
    { cwd: dir, env: process.env, stdin: `${tegami.password}\n` },
  );
}

describe('ManageSieve with sieve-connect', () => {
  it('uploads, lists, activates, downloads the same bytes, deactivates and deletes a script, over STARTTLS', async () => {
    const port = tegami.managesievePort!;
    const upload = await sieveConnect(
      port,
      '--debug',
      '--localsieve',
      FILTER,
      '--remotesieve',
      'filter',
      '--upload',
    );
    expect(upload, upload.stderr).toMatchObject({ code: 0 });
    // The client saw STARTTLS offered, took it, and sent the password only after.
    expect(upload.stderr).toContain('>>> STARTTLS');
    expect(upload.stderr).toMatch(/TLS activated[\s\S]*AUTHENTICATE "PLAIN"/);
    expect(upload.stderr).toContain('<<< OK "Putscript completed"');

    expect(await sieveConnect(port, '--list')).toMatchObject({ code: 0, stdout: '"filter"\n' });
    expect(await sieveConnect(port, '--remotesieve', 'filter', '--activate')).toMatchObject({ code: 0 });
    expect(await sieveConnect(port, '--list')).toMatchObject({ code: 0, stdout: '"filter" ACTIVE\n' });

    const downloaded = join(dir, 'downloaded.sieve');
    const download = await sieveConnect(
      port,
      '--localsieve',
      downloaded,
      '--remotesieve',
      'filter',
      '--download',
    );
    expect(download, download.stderr).toMatchObject({ code: 0 });
    expect(readFileSync(downloaded).equals(readFileSync(FILTER))).toBe(true);

    const refused = await sieveConnect(port, '--remotesieve', 'filter', '--delete');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('NO (ACTIVE)');
    expect(await sieveConnect(port, '--deactivate')).toMatchObject({ code: 0 });
    expect(await sieveConnect(port, '--remotesieve', 'filter', '--delete')).toMatchObject({ code: 0 });
    expect(await sieveConnect(port, '--list')).toMatchObject({ code: 0, stdout: '' });
  });

  it('refuses a script with a syntax error, naming its line, on PUTSCRIPT and CHECKSCRIPT', async () => {
    const port = tegami.managesievePort!;
    const upload = await sieveConnect(port, '--localsieve', BROKEN, '--remotesieve', 'broken', '--upload');
    expect(upload.code).not.toBe(0);
    expect(upload.stderr).toMatch(/PUTSCRIPT\(broken\) failed: NO "line 5, column 1: /);
    const check = await sieveConnect(port, '--localsieve', BROKEN, '--checkscript');
    expect(check.code).not.toBe(0);
    expect(check.stderr).toMatch(/CHECKSCRIPT failed: NO "line 5, column 1: /);
    expect(await sieveConnect(port, '--list')).toMatchObject({ code: 0, stdout: '' });
  });
});

describe("the same scripts through Dovecot's managesieved", () => {
  it('accepts the script Tegami accepted, byte for byte', async () => {
    const upload = await sieveConnect(
      dovecot.port,
      '--localsieve',
      FILTER,
      '--remotesieve',
      'filter',
      '--upload',
    );
    expect(upload, `${upload.stderr}\n${dovecot.log()}`).toMatchObject({ code: 0 });
    expect(await sieveConnect(dovecot.port, '--remotesieve', 'filter', '--activate')).toMatchObject({
      code: 0,
    });
    expect(await sieveConnect(dovecot.port, '--list')).toMatchObject({
      code: 0,
      stdout: '"filter" ACTIVE\n',
    });
    expect(readFileSync(join(dovecot.sieveDir, 'filter.sieve')).equals(readFileSync(FILTER))).toBe(true);
  });

  it('refuses the broken script at the same line', async () => {
    const upload = await sieveConnect(
      dovecot.port,
      '--localsieve',
      BROKEN,
      '--remotesieve',
      'broken',
      '--upload',
    );
    expect(upload.code).not.toBe(0);
    // Dovecot answers with a literal of its own words: "broken: line 5: error: expected end of command ';' …".
    expect(upload.stderr).toMatch(/PUTSCRIPT\(broken\) failed: NO \{\d+\}\r?\nbroken: line 5: error: /);
  });
});
