import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type Program, runProgram, startProgram } from '@tegami/testing';

// Debian's OpenDKIM as a verifying milter for a private Postfix (support/postfix.ts): it
// checks the DKIM signatures of each message Postfix receives and adds an
// Authentication-Results field saying what it found. It asks the tests' DNS server for the
// keys through its resolver, libunbound, configured by a file of its own: forward every
// name to that server, which is on loopback (unbound does not query localhost by default),
// and do not answer .test itself (unbound's default local zones make it NXDOMAIN, RFC 6761).

export interface OpendkimOptions {
  /** The test DNS server, `host:port`. */
  readonly dns: string;
  /** The authserv-id of its Authentication-Results fields (the receiving host's name). */
  readonly authservId: string;
}

export interface OpendkimInstance {
  /** For Postfix's `smtpd_milters`. */
  readonly milter: string;
  readonly program: Program;
  /** opendkim's verdicts on a message in a file (its test mode), with the same DNS: see opendkimVerdicts. */
  verifyFile(message: string): Promise<string[]>;
  stop(): Promise<void>;
}

export function opendkimInstalled(): boolean {
  return existsSync('/usr/sbin/opendkim');
}

export async function startOpendkim(options: OpendkimOptions): Promise<OpendkimInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-opendkim-'));
  const port = await freePort();
  const colon = options.dns.lastIndexOf(':');
  const conf = join(dir, 'opendkim.conf');
  const unbound = join(dir, 'unbound.conf');
  writeFileSync(
    unbound,
    [
      'server:',
      '  do-not-query-localhost: no',
      '  local-zone: "test." nodefault',
      'forward-zone:',
      '  name: "."',
      `  forward-addr: ${options.dns.slice(0, colon)}@${options.dns.slice(colon + 1)}`,
      '',
    ].join('\n'),
  );
  const settings = [
    'Mode v',
    `Socket inet:${port}@127.0.0.1`,
    `ResolverConfiguration ${unbound}`,
    `AuthservID ${options.authservId}`,
    `PidFile ${join(dir, 'opendkim.pid')}`,
    'Syslog no',
    'AlwaysAddARHeader yes',
    // Mail from InternalHosts (default 127.0.0.1) is signed, not verified: the tests' MTAs
    // send from other loopback addresses, but say so rather than rely on it.
    'InternalHosts 192.0.2.1',
    // A key change between two messages must be seen at once (no cache of its own).
    'QueryCache no',
    '',
  ];
  writeFileSync(conf, settings.join('\n'));
  const program = startProgram('/usr/sbin/opendkim', ['-f', '-x', conf], { cwd: dir, env: process.env });
  const deadline = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (program.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`opendkim did not start:\n${program.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    milter: `inet:127.0.0.1:${port}`,
    program,
    async verifyFile(message) {
      const file = join(dir, `message-${Date.now()}.eml`);
      writeFileSync(file, message.replace(/\r?\n/g, '\r\n'));
      const testConf = join(dir, 'test.conf');
      writeFileSync(
        testConf,
        settings.filter((line) => !line.startsWith('Socket') && !line.startsWith('PidFile')).join('\n'),
      );
      const run = await runProgram('/usr/sbin/opendkim', ['-x', testConf, '-vv', '-t', file], {
        cwd: dir,
        env: process.env,
        stdin: '',
      });
      // Test mode prints the field it would add: `### INSHEADER: … hvalue='mx.p.test; dkim=…'`.
      return opendkimVerdicts(`${run.stdout}${run.stderr}`);
    },
    async stop() {
      program.signal('SIGTERM');
      await program.exited(10_000).catch(() => program.signal('SIGKILL'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The DKIM results of opendkim's Authentication-Results in `text` (a stored message, or its
 * test mode's output), one `<result> <algorithm> <selector>` per signature:
 * `dkim=pass (2048-bit key; unprotected) header.d=t.test header.i=@t.test header.a=rsa-sha256 header.s=sel`.
 */
export function opendkimVerdicts(text: string): string[] {
  const pattern =
    /dkim=(\w+)(?: \([^)]*\))?(?: reason="[^"]*")? header\.d=\S+ (?:header\.i=\S+ )?header\.a=(\S+) header\.s=(\S+)/g;
  return [...text.replace(/\s+/g, ' ').matchAll(pattern)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
}

async function listening(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
