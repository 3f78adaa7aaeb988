import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derivePasswordSecrets } from '../sasl/password-secrets.js';
import { SASL_MECHANISMS } from '../sasl/sasl-exchange.js';
import type { SaslCredentials } from '../sasl/sasl-step.js';
import { type Pop3Action, type Pop3Hooks, Pop3Session, type Pop3SessionOptions } from './session.js';
import { pop3WireSize } from './wire.js';

const PASSWORD = 'tanstaaftanstaaf';
const credentials = derivePasswordSecrets('alice@example.org', 'example.org', PASSWORD).then(
  (secrets): SaslCredentials => ({ ...secrets, accountId: '1', address: 'alice@example.org' }),
);

interface Harness {
  session: Pop3Session;
  output: () => string;
  /** Sends lines, returns what the server wrote in answer to them. */
  say: (...lines: string[]) => Promise<string>;
  actions: Pop3Action[];
  committed: number[][];
  failures: number;
}

function messageOf(n: number): Buffer {
  return Buffer.from(
    `Subject: message ${n}\r\nMessage-ID: <${n}@example.org>\r\n\r\n${'body line\r\n'.repeat(n)}`,
  );
}

function start(
  options: Partial<Pop3SessionOptions> = {},
  count = 3,
  extra: Partial<Pop3Hooks> = {},
): Harness {
  const messages = Array.from({ length: count }, (_, i) => messageOf(i + 1));
  let out = '';
  const h: Harness = {
    session: undefined as unknown as Pop3Session,
    output: () => out,
    actions: [],
    committed: [],
    failures: 0,
    say: async (...lines) => {
      const before = out.length;
      for (const line of lines) h.actions.push(await h.session.handleLine(line));
      return out.slice(before);
    },
  };
  h.session = new Pop3Session(
    {
      hostname: 'pop.example.org',
      tls: 'starttls',
      plaintextAllowed: true,
      realms: () => ['example.org'],
      ...options,
    },
    {
      lookupCredentials: async (user) => (user === 'alice@example.org' ? credentials : undefined),
      openMaildrop: async () => messages.map((m, i) => ({ uid: `7.${i + 1}`, size: pop3WireSize(m) })),
      readMessage: async (index) => messages[index]!,
      commitDeletions: async (indexes) => {
        h.committed.push([...indexes]);
      },
      authFailed: () => {
        h.failures++;
      },
      ...extra,
    },
    (chunk) => {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    },
  );
  h.session.greeting();
  return h;
}

describe('POP3 session', () => {
  it('greets, and runs the classic USER/PASS, STAT, UIDL, RETR, QUIT exchange', async () => {
    const sizes = Array.from({ length: 30 }, (_, i) => messageOf(i + 1).length);
    const h = start({}, 30);
    expect(h.output()).toBe('+OK pop.example.org POP3 server ready\r\n');
    expect(await h.say('USER alice@example.org')).toMatch(/^\+OK /);
    expect(await h.say(`PASS ${PASSWORD}`)).toBe('+OK alice@example.org has 30 messages\r\n');
    expect(await h.say('STAT')).toBe(`+OK 30 ${sizes.reduce((a, b) => a + b, 0)}\r\n`);
    const uidl = await h.say('UIDL');
    expect(uidl.split('\r\n').slice(1, -2)).toEqual(
      Array.from({ length: 30 }, (_, i) => `${i + 1} 7.${i + 1}`),
    );
    expect(uidl.endsWith('\r\n.\r\n')).toBe(true);
    const retr = await h.say('RETR 30');
    expect(retr).toBe(`+OK ${sizes[29]} octets\r\n${messageOf(30).toString('latin1')}.\r\n`);
    expect(await h.say('QUIT')).toMatch(/^\+OK .*signing off/);
    expect(h.actions.at(-1)).toBe('close');
    expect(h.committed).toEqual([[]]);
  });

  it('lists, deletes, resets and commits deletions only at QUIT', async () => {
    const h = start();
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
    expect(await h.say('LIST')).toBe(
      `+OK 3 messages\r\n1 ${messageOf(1).length}\r\n2 ${messageOf(2).length}\r\n3 ${messageOf(3).length}\r\n.\r\n`,
    );
    expect(await h.say('LIST 2')).toBe(`+OK 2 ${messageOf(2).length}\r\n`);
    expect(await h.say('DELE 2')).toBe('+OK message 2 deleted\r\n');
    expect(await h.say('DELE 2')).toBe('-ERR message 2 already deleted\r\n');
    expect(await h.say('RETR 2')).toBe('-ERR message 2 already deleted\r\n');
    expect(await h.say('LIST')).not.toContain('\r\n2 ');
    expect(await h.say('STAT')).toBe(`+OK 2 ${messageOf(1).length + messageOf(3).length}\r\n`);
    expect(await h.say('RSET')).toBe('+OK maildrop has 3 messages\r\n');
    expect(await h.say('DELE 1', 'DELE 3')).toBe('+OK message 1 deleted\r\n+OK message 3 deleted\r\n');
    expect(h.committed).toEqual([]);
    await h.say('QUIT');
    expect(h.committed).toEqual([[0, 2]]);
  });

  it('answers bad message numbers and arguments with -ERR and goes on', async () => {
    const h = start();
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
    for (const line of [
      'RETR 0',
      'RETR 4',
      'RETR -1',
      'RETR 1x',
      'RETR',
      'LIST 99',
      'DELE',
      'TOP 1',
      'TOP 1 x',
      'STAT 1',
      'FOO',
      'X',
    ]) {
      expect(await h.say(line), line).toMatch(/^-ERR /);
    }
    expect(await h.say('NOOP')).toBe('+OK\r\n');
  });

  it('refuses transaction commands before login and login commands after it', async () => {
    const h = start();
    expect(await h.say('STAT')).toBe('-ERR log in first\r\n');
    expect(await h.say('PASS x')).toBe('-ERR send USER first\r\n');
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
    expect(await h.say('USER bob')).toBe('-ERR already logged in\r\n');
    expect(await h.say('STLS')).toBe('-ERR already logged in\r\n');
  });

  it('fails a wrong password with [AUTH], counts it, and allows another try', async () => {
    const h = start();
    expect(await h.say('USER alice@example.org', 'PASS wrong')).toMatch(
      /\r\n-ERR \[AUTH\] authentication failed\r\n$/,
    );
    expect(h.failures).toBe(1);
    expect(h.session.state).toBe('authorization');
    expect(await h.say('USER alice@example.org', `PASS ${PASSWORD}`)).toMatch(
      /\+OK alice@example\.org has 3 messages/,
    );
  });

  it('answers [IN-USE] when the maildrop is locked, [SYS/TEMP] when it cannot be opened', async () => {
    const busy = start({}, 3, { openMaildrop: async () => 'in-use' });
    expect(await busy.say('USER alice@example.org', `PASS ${PASSWORD}`)).toMatch(/-ERR \[IN-USE\] /);
    expect(busy.session.state).toBe('authorization');
    const down = start({}, 3, { openMaildrop: async () => 'temp' });
    expect(await down.say('USER alice@example.org', `PASS ${PASSWORD}`)).toMatch(/-ERR \[SYS\/TEMP\] /);
  });

  it('keeps PLAIN, LOGIN and USER out of CAPA and refuses them before TLS unless allowed', async () => {
    const h = start({ plaintextAllowed: false });
    const capa = await h.say('CAPA');
    expect(capa).toMatch(/^\+OK /);
    expect(capa).toContain('\r\nSTLS\r\n');
    expect(capa).toMatch(
      /\r\nSASL CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256\r\n|\r\nSASL (?!.*PLAIN)(?!.*LOGIN).*\r\n/,
    );
    expect(capa).not.toMatch(/\r\nUSER\r\n/);
    expect(capa).toMatch(/\r\nRESP-CODES\r\n/);
    expect(capa).toMatch(/\r\nIMPLEMENTATION Tegami\r\n\.\r\n$/);
    expect(await h.say('USER alice@example.org')).toMatch(/^-ERR \[AUTH\] /);
    expect(await h.say('AUTH PLAIN')).toMatch(/^-ERR \[AUTH\] PLAIN needs TLS/);
    expect(await h.say('STLS')).toBe('+OK Begin TLS negotiation\r\n');
    expect(h.actions.at(-1)).toBe('starttls');
    h.session.tlsStarted();
    const after = await h.say('CAPA');
    expect(after).toContain('\r\nUSER\r\n');
    expect(after).not.toContain('STLS');
    expect(await h.say('USER alice@example.org', `PASS ${PASSWORD}`)).toMatch(/\+OK alice@example\.org has/);
  });

  it('logs in with AUTH PLAIN and an initial response, and with LOGIN step by step', async () => {
    const plain = start();
    const ir = Buffer.from(`\u0000alice@example.org\u0000${PASSWORD}`).toString('base64');
    expect(await plain.say(`AUTH PLAIN ${ir}`)).toBe('+OK alice@example.org has 3 messages\r\n');
    const login = start();
    expect(await login.say('AUTH LOGIN')).toMatch(/^\+ \S+\r\n$/);
    expect(await login.say(Buffer.from('alice@example.org').toString('base64'))).toMatch(/^\+ \S+\r\n$/);
    expect(await login.say(Buffer.from(PASSWORD).toString('base64'))).toBe(
      '+OK alice@example.org has 3 messages\r\n',
    );
  });

  it('logs in with AUTH CRAM-MD5 (RFC 2195 exchange) and cancels with *', async () => {
    const h = start();
    const challenge = (await h.say('AUTH CRAM-MD5')).match(/^\+ (\S+)\r\n$/)![1]!;
    const text = Buffer.from(challenge, 'base64').toString();
    expect(text).toMatch(/^<.+@pop\.example\.org>$/);
    const digest = createHmac('md5', PASSWORD).update(text).digest('hex');
    expect(await h.say(Buffer.from(`alice@example.org ${digest}`).toString('base64'))).toBe(
      '+OK alice@example.org has 3 messages\r\n',
    );
    const cancelled = start();
    await cancelled.say('AUTH CRAM-MD5');
    expect(await cancelled.say('*')).toBe('-ERR authentication cancelled\r\n');
    expect(await cancelled.say('AUTH NOSUCH')).toMatch(/^-ERR /);
    expect(await cancelled.say('AUTH PLAIN !!!')).toMatch(/^-ERR cannot decode/);
  });

  it('lists mechanisms for a bare AUTH', async () => {
    const h = start();
    expect(await h.say('AUTH')).toBe(`+OK methods follow\r\n${SASL_MECHANISMS.join('\r\n')}\r\n.\r\n`);
  });

  it('TOP sends the header, the blank line and n body lines, dot-stuffed', async () => {
    const raw = Buffer.from('Subject: dots\r\n\r\n.first\r\nsecond\r\n..third\r\nfourth\r\n');
    const h = start({}, 1, {
      readMessage: async () => raw,
      openMaildrop: async () => [{ uid: 'a', size: raw.length }],
    });
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
    expect(await h.say('TOP 1 0')).toBe('+OK top of message follows\r\nSubject: dots\r\n\r\n.\r\n');
    expect(await h.say('TOP 1 2')).toBe(
      '+OK top of message follows\r\nSubject: dots\r\n\r\n..first\r\nsecond\r\n.\r\n',
    );
    expect(await h.say('TOP 1 99')).toBe(
      '+OK top of message follows\r\nSubject: dots\r\n\r\n..first\r\nsecond\r\n...third\r\nfourth\r\n.\r\n',
    );
  });

  it('never commits deletions when the connection just ends', async () => {
    const h = start();
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`, 'DELE 1');
    // The service drops the session without QUIT: nothing may be removed.
    expect(h.committed).toEqual([]);
  });

  it('says [SYS/TEMP] when a message cannot be read, and goes on', async () => {
    const h = start({}, 2, {
      readMessage: async () => {
        throw new Error('blob store down');
      },
    });
    await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
    expect(await h.say('RETR 1')).toMatch(/^-ERR \[SYS\/TEMP\] /);
    expect(await h.say('STAT')).toMatch(/^\+OK 2 /);
  });

  it('answers every line, whatever it is, with +OK, -ERR or a SASL challenge, and never throws', async () => {
    const verbs = [
      'USER',
      'PASS',
      'AUTH',
      'STAT',
      'LIST',
      'UIDL',
      'RETR',
      'TOP',
      'DELE',
      'RSET',
      'NOOP',
      'CAPA',
      'STLS',
      'APOP',
    ];
    const line = fc.oneof(
      fc.string({ maxLength: 40 }).filter((x) => !x.includes('\r') && !x.includes('\n')),
      fc
        .tuple(
          fc.constantFrom(...verbs),
          fc.array(fc.oneof(fc.integer({ min: -2, max: 40 }).map(String), fc.string({ maxLength: 8 })), {
            maxLength: 3,
          }),
        )
        .map(([verb, args]) => [verb, ...args].join(' ').replace(/[\r\n]/g, '')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 25 }), async (lines) => {
        const h = start({}, 5);
        await h.say('USER alice@example.org', `PASS ${PASSWORD}`);
        for (const l of lines) {
          if (h.actions.at(-1) === 'close') break;
          const answer = await h.say(l);
          expect(answer, l).toMatch(/^(\+OK|-ERR|\+ )/);
          expect(answer).not.toMatch(/[^\r]\n/);
        }
      }),
      { numRuns: 150 },
    );
  });
});
