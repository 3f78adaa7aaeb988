import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createMemoryBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry, DEFAULT_ABUSE_LIMITS, type Logger } from '@tegami/runtime';
import {
  addDomain,
  createAccount,
  createSecretsKeyring,
  DEFAULT_LOGIN_THROTTLE,
  type LoginClock,
  type LoginThrottlePolicy,
  legacySaslPolicy,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, LineClient } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, startImapGateway } from '../services/imap-gateway/src/imap-gateway.js';
import { type PopGateway, startPopGateway } from '../services/pop-gateway/src/pop-gateway.js';
import { type SmtpIngress, startSmtpIngress } from '../services/smtp-ingress/src/smtp-ingress.js';
import { type SaslClientMechanism, saslClient } from './support/sasl-client.js';

// One per-account delay for SMTP AUTH, POP3 and IMAP and every mechanism they take: the
// three services on one database, guesses at one account spread over all of them, each
// from a loopback address of its own, and the owner at an address it logged in from before.

const POLICY: LoginThrottlePolicy = {
  ...DEFAULT_LOGIN_THROTTLE,
  freeFailures: 2,
  baseDelayMs: 100,
  maxDelayMs: 400,
  maxQueueMs: 800,
};
const USER = 'alice@delay.test';
const PASSWORD = 'alice-password';

type Protocol = 'smtp' | 'pop3' | 'imap';
/** A SASL mechanism, or the protocol's own plaintext command (POP3 USER/PASS, IMAP LOGIN). */
type Method = SaslClientMechanism | 'USER' | 'LOGIN-COMMAND';

let store: StorePool;
let bus: MailBus;
let smtp: SmtpIngress;
let pop: PopGateway;
let imap: ImapGateway;
const clocks = { smtp: watchedClock(), pop3: watchedClock(), imap: watchedClock() };
const logLines: Record<string, unknown>[] = [];

function watchedClock(): LoginClock & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => Date.now(),
    sleep: (ms) => {
      waits.push(ms);
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
  };
}

function capturingLogger(service: string): Logger {
  return createLogger({
    service,
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    }),
  });
}

beforeAll(async () => {
  const database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 12 });
  await migrate(store.pool);
  await addDomain(store.pool, 'delay.test');
  // Every mechanism is in play, the legacy ones (CRAM-MD5, DIGEST-MD5) too: they need a key.
  const legacySasl = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);
  await createAccount(store.pool, USER, PASSWORD, legacySasl);
  bus = createMemoryBus();
  const common = {
    pool: store.pool,
    bus,
    hostname: 'mail.delay.test',
    host: '127.0.0.1',
    tls: undefined,
    allowPlaintextAuth: false,
    // Without the per-address penalty, only the per-account delay is in play.
    abuseLimits: { ...DEFAULT_ABUSE_LIMITS, baseDelayMs: 0 },
    loginThrottle: POLICY,
    legacySasl,
  };
  smtp = await startSmtpIngress({
    ...common,
    logger: capturingLogger('smtp-ingress'),
    metrics: createMetricsRegistry('smtp-delay'),
    listeners: [{ name: 'submission', role: 'submission', port: 0, implicitTls: false }],
    maxMessageBytes: 1_000_000,
    maxRecipients: 10,
    maxConnections: 100,
    maxConnectionsPerAddress: 10,
    commandTimeoutMs: 30_000,
    dataTimeoutMs: 30_000,
    loginClock: clocks.smtp,
  });
  pop = await startPopGateway({
    ...common,
    logger: capturingLogger('pop-gateway'),
    metrics: createMetricsRegistry('pop-delay'),
    popPort: 0,
    popsPort: undefined,
    idleTimeoutMs: 30_000,
    maxConnections: 100,
    maxConnectionsPerIp: 10,
    loginClock: clocks.pop3,
  });
  imap = await startImapGateway({
    ...common,
    logger: capturingLogger('imap-gateway'),
    metrics: createMetricsRegistry('imap-delay'),
    imapPort: 0,
    imapsPort: undefined,
    idleTimeoutMs: 30_000,
    maxConnections: 100,
    maxConnectionsPerIp: 10,
    maxConnectionsPerUser: 10,
    maxMessageSize: 1_000_000,
    loginClock: clocks.imap,
  });
});

afterAll(async () => {
  await smtp?.stop();
  await pop?.stop();
  await imap?.stop();
  await bus?.close();
  await store?.close();
});

const b64 = (data: Buffer) => data.toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64');

/** One login over `protocol` with `method`, from `from`: the final answer. */
async function login(protocol: Protocol, method: Method, from: string, password: string): Promise<string> {
  const service = protocol === 'pop3' ? 'pop' : protocol;
  const port =
    protocol === 'smtp' ? smtp.ports['submission']! : protocol === 'pop3' ? pop.ports.pop! : imap.ports.imap!;
  const client = await LineClient.connect(port, { localAddress: from });
  try {
    if (protocol === 'smtp') {
      await client.readReply();
      await client.command('EHLO client.delay.test');
      const sasl = saslClient(method as SaslClientMechanism, {
        user: USER,
        password,
        service,
        realm: 'delay.test',
      });
      let answer = await client.command(`AUTH ${method}${sasl.initial ? ` ${b64(sasl.initial)}` : ''}`);
      while (answer.code === 334)
        answer = await client.command(b64(sasl.respond(unb64(answer.lines[0]!.slice(4)))));
      return answer.text;
    }
    await client.readLine();
    if (protocol === 'pop3') {
      if (method === 'USER') {
        client.write(`USER ${USER}\r\nPASS ${password}\r\n`);
        await client.readLine();
        return await client.readLine();
      }
      const sasl = saslClient(method as SaslClientMechanism, {
        user: USER,
        password,
        service,
        realm: 'delay.test',
      });
      client.write(`AUTH ${method}${sasl.initial ? ` ${b64(sasl.initial)}` : ''}\r\n`);
      for (;;) {
        const line = await client.readLine();
        if (!line.startsWith('+ ')) return line;
        client.write(`${b64(sasl.respond(unb64(line.slice(2))))}\r\n`);
      }
    }
    if (method === 'LOGIN-COMMAND') return (await client.tagged(`a LOGIN "${USER}" "${password}"`)).at(-1)!;
    const sasl = saslClient(method as SaslClientMechanism, {
      user: USER,
      password,
      service,
      realm: 'delay.test',
    });
    client.write(`a AUTHENTICATE ${method}${sasl.initial ? ` ${b64(sasl.initial)}` : ''}\r\n`);
    for (;;) {
      const line = await client.readLine();
      if (!line.startsWith('+ ')) return line;
      client.write(`${b64(sasl.respond(unb64(line.slice(2))))}\r\n`);
    }
  } finally {
    client.close();
  }
}

const ATTEMPTS: [Protocol, Method][] = [
  ['smtp', 'PLAIN'],
  ['pop3', 'USER'],
  ['imap', 'LOGIN-COMMAND'],
  ['smtp', 'LOGIN'],
  ['pop3', 'PLAIN'],
  ['imap', 'PLAIN'],
  ['smtp', 'CRAM-MD5'],
  ['pop3', 'LOGIN'],
  ['imap', 'LOGIN'],
  ['smtp', 'DIGEST-MD5'],
  ['pop3', 'CRAM-MD5'],
  ['imap', 'CRAM-MD5'],
  ['smtp', 'SCRAM-SHA-256'],
  ['pop3', 'DIGEST-MD5'],
  ['imap', 'DIGEST-MD5'],
  ['pop3', 'SCRAM-SHA-256'],
  ['imap', 'SCRAM-SHA-256'],
];

const REFUSED = {
  smtp: /^535 /,
  pop3: /^-ERR \[AUTH\] authentication failed$/,
  imap: /^a NO \[AUTHENTICATIONFAILED\]/,
};
const ACCEPTED = { smtp: /^235 /, pop3: /^\+OK /, imap: /^a OK / };

describe('per-account login delay across SMTP AUTH, POP3 and IMAP', () => {
  it('every mechanism of every protocol counts for one account and waits in its one queue; the owner does not', async () => {
    // Each mechanism works with the right password (and this makes 127.14.0.1 known).
    for (const [protocol, method] of ATTEMPTS)
      expect(await login(protocol, method, '127.14.0.1', PASSWORD), `${protocol} ${method}`).toMatch(
        ACCEPTED[protocol],
      );
    expect([...clocks.smtp.waits, ...clocks.pop3.waits, ...clocks.imap.waits]).toEqual([]);

    // Wrong passwords from new addresses, one after the other, across the three services.
    const waits: number[] = [];
    for (const [i, [protocol, method]] of ATTEMPTS.entries()) {
      const clock = clocks[protocol];
      const before = clock.waits.length;
      const answer = await login(protocol, method, `127.14.1.${i + 1}`, 'wrong-password');
      expect(answer, `${protocol} ${method}`).toMatch(REFUSED[protocol]);
      expect(clock.waits.length - before, `${protocol} ${method}`).toBeLessThanOrEqual(1);
      waits.push(clock.waits[before] ?? 0);
    }
    expect(waits).toEqual([0, 0, 100, 200, ...Array<number>(13).fill(400)]);

    // The owner, at the address it logged in from, over any protocol: at once.
    const waited = () => clocks.smtp.waits.length + clocks.pop3.waits.length + clocks.imap.waits.length;
    const before = waited();
    expect(await login('smtp', 'CRAM-MD5', '127.14.0.1', PASSWORD)).toMatch(ACCEPTED.smtp);
    expect(await login('pop3', 'SCRAM-SHA-256', '127.14.0.1', PASSWORD)).toMatch(ACCEPTED.pop3);
    expect(await login('imap', 'DIGEST-MD5', '127.14.0.1', PASSWORD)).toMatch(ACCEPTED.imap);
    expect(waited()).toBe(before);

    // Each failure is one line with the mechanism and the user as given.
    const failed = logLines.filter((l) => l['event'] === 'auth_failed');
    expect(failed.map((l) => `${l['protocol']} ${l['mechanism']} ${l['user']}`)).toEqual(
      ATTEMPTS.map(([protocol, method]) => {
        const mechanism = method === 'LOGIN-COMMAND' ? 'LOGIN' : method;
        return `${protocol} ${mechanism} ${USER}`;
      }),
    );
  }, 60_000);
});
