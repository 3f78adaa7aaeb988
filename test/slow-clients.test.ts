import { connect } from 'node:net';
import { freePort, LineClient, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// Issue 13, slow clients: a hundred connections each to SMTP, POP3 and IMAP sending one
// byte every 5 s stayed open, since any byte started the idle timeout again. Across
// processes, with the deadlines set short through the environment: a command line must
// be whole 2 s after its first byte, a POP3/IMAP client log in within 5 s, an SMTP body
// keep up 500 bytes/s from a 3 s allowance.

const SITE_IP = '127.0.0.70';
const ATTACKER = '127.0.0.71';
const GOOD_CLIENT = '127.0.0.72';
const LINE_S = 2;
const LOGIN_S = 5;
const SLACK_MS = 3_000;

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'slow.test',
    ip: SITE_IP,
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: 1,
    imap: 1,
    env: {
      TEGAMI_COMMAND_LINE_DEADLINE: `${LINE_S}s`,
      TEGAMI_LOGIN_DEADLINE: `${LOGIN_S}s`,
      TEGAMI_SMTP_DATA_TIMEOUT_MS: '3s',
      TEGAMI_MIN_DATA_RATE: '500',
    },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

interface Dribbled {
  /** Everything the server said. */
  readonly text: string;
  /** From the first byte sent to the server's close, in ms. */
  readonly closedAfterMs: number;
  readonly bytesSent: number;
}

/**
 * A client that, after the greeting (and `setup`, sent whole), sends `line` one byte
 * every `everyMs`, never finishing it in time, until the server closes the connection.
 */
function dribble(port: number, line: string, everyMs: number, setup = ''): Promise<Dribbled> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: SITE_IP, port, localAddress: ATTACKER });
    let text = '';
    let firstByteAt = 0;
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    let greeted = false;
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (greeted) return;
      greeted = true;
      if (setup) socket.write(setup);
      // After the replies to the setup, the slow line begins.
      setTimeout(() => {
        firstByteAt = Date.now();
        const next = () => {
          if (socket.destroyed || sent >= line.length) return;
          socket.write(line[sent++]!);
          timer = setTimeout(next, everyMs);
        };
        next();
      }, 300);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (!firstByteAt) reject(new Error(`closed before the slow line began: ${JSON.stringify(text)}`));
      else resolve({ text, closedAfterMs: Date.now() - firstByteAt, bytesSent: sent });
    });
  });
}

const lastLine = (text: string) => text.trimEnd().split('\r\n').at(-1);

describe('slow clients, across processes', () => {
  it('the attack: connections dribbling a byte every 300 ms are told goodbye at the line deadline; others are served', async () => {
    const slowLine = 'x'.repeat(200);
    const attackers = Array.from({ length: 20 }, () => [
      dribble(mxPort, `EHLO ${slowLine}\r\n`, 300),
      dribble(site.popPort, `USER ${slowLine}\r\n`, 300),
      dribble(site.imaps[0]!.port, `a LOGIN ${slowLine}\r\n`, 300),
    ]).flat();

    // Meanwhile, from another address, a client that behaves is served by all three.
    const smtp = await LineClient.connect(mxPort, { host: SITE_IP, localAddress: GOOD_CLIENT });
    expect((await smtp.readReply()).code).toBe(220);
    expect((await smtp.command('EHLO good.example')).code).toBe(250);
    expect((await smtp.command('MAIL FROM:<bob@good.example>')).code).toBe(250);
    expect((await smtp.command('RCPT TO:<alice@slow.test>')).code).toBe(250);
    expect((await smtp.command('DATA')).code).toBe(354);
    expect((await smtp.command('Subject: while others dribble\r\n\r\nhello\r\n.')).code).toBe(250);
    smtp.close();
    await site.waitForInbox('alice@slow.test', 1);
    const pop = await LineClient.connect(site.popPort, { host: SITE_IP, localAddress: GOOD_CLIENT });
    expect(await pop.readLine()).toMatch(/^\+OK/);
    pop.write('USER alice@slow.test\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK/);
    pop.write('PASS alice-password\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK/);
    pop.write('STAT\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK 1 /);
    pop.write('QUIT\r\n');
    pop.close();
    const imap = await LineClient.connect(site.imaps[0]!.port, { host: SITE_IP, localAddress: GOOD_CLIENT });
    await imap.readLine();
    expect((await imap.tagged('a LOGIN alice@slow.test alice-password')).at(-1)).toMatch(/^a OK /);
    expect(await imap.tagged('b SELECT INBOX')).toContain('* 1 EXISTS');
    imap.close();

    const results = await Promise.all(attackers);
    for (const [i, result] of results.entries()) {
      const goodbye = [
        `421 4.4.2 mx.slow.test Error: timeout exceeded`,
        `-ERR timeout: the command line took over ${LINE_S} seconds`,
        `* BYE timeout: the command line took over ${LINE_S} seconds`,
      ][i % 3];
      expect(lastLine(result.text)).toBe(goodbye);
      expect(result.closedAfterMs).toBeGreaterThanOrEqual(LINE_S * 1000 - 50);
      expect(result.closedAfterMs).toBeLessThan(LINE_S * 1000 + SLACK_MS);
      // Every byte came well within the idle timeouts (minutes): the deadline did it.
      expect(result.bytesSent).toBeGreaterThan(3);
    }
  }, 60_000);

  it('POP3 and IMAP clients that never log in are closed at the login deadline, though each line is whole', async () => {
    const started = Date.now();
    const pop = await LineClient.connect(site.popPort, { host: SITE_IP, localAddress: ATTACKER });
    const imap = await LineClient.connect(site.imaps[0]!.port, { host: SITE_IP, localAddress: ATTACKER });
    await pop.readLine();
    await imap.readLine();
    const chatter = setInterval(() => {
      if (!pop.isClosed) pop.write('NOOP\r\n');
      if (!imap.isClosed) imap.write('a NOOP\r\n');
    }, 500);
    try {
      await Promise.all([
        pop.closedByServer(LOGIN_S * 1000 + SLACK_MS),
        imap.closedByServer(LOGIN_S * 1000 + SLACK_MS),
      ]);
    } finally {
      clearInterval(chatter);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOGIN_S * 1000 - 50);
    const said = async (client: LineClient) => {
      const lines: string[] = [];
      for (;;) {
        const line = await client.readLine(100).catch(() => undefined);
        if (line === undefined) return lines;
        lines.push(line);
      }
    };
    expect((await said(pop)).at(-1)).toBe(`-ERR timeout: no login within ${LOGIN_S} seconds`);
    expect((await said(imap)).at(-1)).toBe(`* BYE timeout: no login within ${LOGIN_S} seconds`);
  }, 30_000);

  it('a message body dribbled below the minimum rate ends in 421 4.4.2 (SMTP) and BYE (an IMAP literal)', async () => {
    const data = dribble(
      mxPort,
      'x'.repeat(500),
      300,
      'EHLO dribble.example\r\nMAIL FROM:<bob@good.example>\r\nRCPT TO:<alice@slow.test>\r\nDATA\r\n',
    );
    const literal = dribble(
      site.imaps[0]!.port,
      'y'.repeat(500),
      300,
      'a LOGIN alice@slow.test alice-password\r\nb APPEND INBOX {500+}\r\n',
    );
    const [smtp, imap] = await Promise.all([data, literal]);
    expect(smtp.text).toContain('354 ');
    expect(lastLine(smtp.text)).toBe('421 4.4.2 mx.slow.test Error: timeout exceeded');
    // The 3 s allowance (from the 354), drained by 300 ms a byte less the 2 ms each earns;
    // every byte came well within the 3 s data timeout.
    expect(smtp.bytesSent).toBeGreaterThan(5);
    expect(smtp.closedAfterMs).toBeLessThan(3_000 + SLACK_MS);
    expect(imap.text).toMatch(/a OK /);
    expect(lastLine(imap.text)).toBe('* BYE timeout: the literal came slower than 500 octets per second');
    expect(imap.bytesSent).toBeGreaterThan(3);
    expect(imap.closedAfterMs).toBeLessThan(LINE_S * 1000 + SLACK_MS);
  }, 30_000);
});
