import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SrsOptions, srsForward, srsReverse, srsTimestamp } from '@tegami/protocol';
import { freePort, type Program, startProgram } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The SRS address of a sender that SRS can carry. */
function srsAddress(...args: Parameters<typeof srsForward>): string {
  const result = srsForward(...args);
  if (result.kind === 'unsuitable') throw new Error(`SRS cannot carry ${args[0]}`);
  return result.address;
}

// Our SRS against postsrsd's (Debian's postsrsd 1.10, libsrs2's algorithm), through its
// Postfix tcp_table interface: the same secret file must give the same addresses both ways,
// so a site moving from Postfix + postsrsd to Tegami keeps its bounces coming back.

const POSTSRSD = '/usr/sbin/postsrsd';
const DOMAIN = 'forward.test';
const SECRETS = ['postsrsd-interop-secret-a', 'postsrsd-interop-secret-b'];
const options: SrsOptions = { secrets: SECRETS };
const day = 86_400_000;

interface Instance {
  readonly program: Program;
  readonly forwardPort: number;
  readonly reversePort: number;
}
const scratch = mkdtempSync(join(tmpdir(), 'tegami-postsrsd-'));
let plain: Instance;
let plus: Instance;

async function startPostsrsd(
  name: string,
  secrets: readonly string[],
  extra: readonly string[],
): Promise<Instance> {
  const secretFile = join(scratch, `${name}.secret`);
  writeFileSync(secretFile, `${secrets.join('\n')}\n`, { mode: 0o600 });
  const forwardPort = await freePort();
  const reversePort = await freePort();
  const program = startProgram(
    POSTSRSD,
    [`-s${secretFile}`, `-d${DOMAIN}`, '-l127.0.0.1', '-4', `-f${forwardPort}`, `-r${reversePort}`, ...extra],
    { cwd: scratch, env: {} },
  );
  const deadline = Date.now() + 10_000;
  while (
    !(await lookup(reversePort, 'probe@x.test').then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline || program.child.exitCode !== null)
      throw new Error(`postsrsd did not start:\n${program.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { program, forwardPort, reversePort };
}

/** One tcp_table request (`get <key>`) and its reply, %XX-decoded as Postfix does. */
function lookup(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`get ${key}\n`));
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\n')) {
        socket.end();
        resolve(decodeURIComponent(reply.trim()));
      }
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  if (!existsSync(POSTSRSD)) throw new Error('these tests need postsrsd (apt-get install postsrsd)');
  plain = await startPostsrsd('plain', SECRETS, []);
  plus = await startPostsrsd('plus', SECRETS, ['-a+']);
}, 30_000);

afterAll(async () => {
  for (const instance of [plain, plus]) {
    instance?.program.signal('SIGTERM');
    await instance?.program.exited(5_000).catch(() => instance.program.signal('SIGKILL'));
  }
  rmSync(scratch, { recursive: true, force: true });
});

const senders = [
  'alice@origin.test',
  'Bob.Smith@Origin.Test',
  'a+b=c@d.test',
  'bounces-123-abc@mail.lists.example.org',
  'SRS0=abcd=XY=other.test=carol@hop1.test',
  'SRS0+xyzw=AB=other.test=dave@hop1.test',
  'SRS1=wxyz=hop1.test==abcd=XY=other.test=carol@hop2.test',
];

/** Ours at the moment postsrsd answered: the day cannot be told, so either side of the request. */
async function both(instance: Instance, sender: string, separator: '=' | '+' = '=') {
  const before = new Date();
  const theirs = await lookup(instance.forwardPort, sender);
  const after = new Date();
  const ours = [before, after].map((at) => srsAddress(sender, DOMAIN, { ...options, separator }, at));
  return { theirs, ours, sameDay: srsTimestamp(before) === srsTimestamp(after) };
}

describe('SRS, ours and postsrsd’s', () => {
  it.each(senders)('rewrites %s as postsrsd does', async (sender) => {
    const { theirs, ours, sameDay } = await both(plain, sender);
    if (sameDay) expect(theirs).toBe(`200 ${ours[0]}`);
    else expect([`200 ${ours[0]}`, `200 ${ours[1]}`]).toContain(theirs);
  });

  it.each(senders)('with the + separator (postsrsd -a+), rewrites %s as postsrsd does', async (sender) => {
    const { theirs, ours, sameDay } = await both(plus, sender, '+');
    if (sameDay) expect(theirs).toBe(`200 ${ours[0]}`);
    else expect([`200 ${ours[0]}`, `200 ${ours[1]}`]).toContain(theirs);
  });

  it.each(senders)('decodes what postsrsd wrote for %s, and postsrsd decodes ours', async (sender) => {
    const theirs = (await lookup(plain.forwardPort, sender)).replace(/^200 /, '');
    const expected = (await lookup(plain.reversePort, theirs)).replace(/^200 /, '');
    expect(srsReverse(theirs, options, new Date())).toEqual({ kind: 'decoded', address: expected });
    const ours = srsAddress(sender, DOMAIN, options, new Date());
    expect(await lookup(plain.reversePort, ours)).toBe(`200 ${expected}`);
  });

  it('agrees on the age limit: 21 days old is taken, 22 days refused', async () => {
    const at = (days: number) =>
      srsAddress('old@origin.test', DOMAIN, options, new Date(Date.now() - days * day));
    expect(await lookup(plain.reversePort, at(21))).toBe('200 old@origin.test');
    expect(srsReverse(at(21), options, new Date()).kind).toBe('decoded');
    expect(await lookup(plain.reversePort, at(22))).toMatch(/^500 .*Time stamp out of date/i);
    expect(srsReverse(at(22), options, new Date())).toEqual({ kind: 'invalid', reason: 'expired' });
  });

  it('agrees on what is forged, and verifies with the second secret of the file too', async () => {
    const forged = srsAddress(
      'victim@origin.test',
      DOMAIN,
      { secrets: ['another-secret-entirely'] },
      new Date(),
    );
    expect(await lookup(plain.reversePort, forged)).toMatch(/^500 .*Hash invalid/i);
    expect(srsReverse(forged, options, new Date())).toEqual({ kind: 'invalid', reason: 'bad-signature' });
    const second = srsAddress('erin@origin.test', DOMAIN, { secrets: [SECRETS[1]!] }, new Date());
    expect(await lookup(plain.reversePort, second)).toBe('200 erin@origin.test');
    expect(srsReverse(second, options, new Date())).toEqual({ kind: 'decoded', address: 'erin@origin.test' });
  });
});
