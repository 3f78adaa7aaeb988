import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loggedIn, messageOf, PASSWORD, start, USER } from './test-session.js';

/** A message of exactly `size` octets: a header, `prefix` as the first body lines, filler. */
function messageOfSize(n: number, size: number, prefix = ''): Buffer {
  const head = `Subject: message ${n}\r\nMessage-ID: <${n}@example.org>\r\n\r\n${prefix}`;
  let remaining = size - head.length;
  const lines: string[] = [];
  while (remaining > 0) {
    // Lines of 2..80 octets, CRLF included; never leave a single octet over.
    const length = remaining >= 82 || remaining <= 80 ? Math.min(80, remaining) : 40;
    lines.push(`${'x'.repeat(length - 2)}\r\n`);
    remaining -= length;
  }
  const message = Buffer.from(head + lines.join(''), 'latin1');
  if (message.length !== size) throw new Error(`cannot make ${size} octets`);
  return message;
}

/** How a client reads a multi-line body (RFC 1939 §3): strip the terminator, unstuff. */
function unstuffed(body: string): string {
  expect(body.endsWith('\r\n.\r\n')).toBe(true);
  return body.slice(0, -3).replace(/^\./gm, '');
}

describe('POP3 session: the classic exchange', () => {
  it('greets, and runs USER/PASS, STAT, UIDL, RETR with dot-stuffing, QUIT over 30 messages', async () => {
    const dotted = '.leading dot\r\n..two dots\r\n.\r\n. \r\n';
    const sizes = Array.from({ length: 29 }, (_, i) => 8000 + (i + 1) * 10);
    sizes.push(254238 - sizes.reduce((a, b) => a + b, 0));
    const messages = sizes.map((size, i) => messageOfSize(i + 1, size, i === 29 ? dotted : ''));
    const h = start({}, messages);
    expect(h.output()).toBe('+OK pop.example.org POP3 server ready\r\n');
    expect(await h.say(`USER ${USER}`)).toBe('+OK send PASS\r\n');
    expect(await h.say(`PASS ${PASSWORD}`)).toBe('+OK alice@example.org has 30 messages\r\n');
    expect(h.session.state).toBe('transaction');
    expect(await h.say('STAT')).toBe('+OK 30 254238\r\n');
    const uidl = await h.say('UIDL');
    expect(uidl.startsWith('+OK ')).toBe(true);
    expect(uidl.split('\r\n').slice(1, -2)).toEqual(
      Array.from({ length: 30 }, (_, i) => `${i + 1} 7.${i + 1}`),
    );
    expect(uidl.endsWith('\r\n30 7.30\r\n.\r\n')).toBe(true);
    const retr = await h.say('RETR 30');
    const raw = messages[29]!.toString('latin1');
    const stuffed = raw.replace(/^\./gm, '..');
    expect(stuffed).toContain('\r\n...two dots\r\n..\r\n.. \r\n');
    expect(retr).toBe(`+OK ${sizes[29]} octets\r\n${stuffed}.\r\n`);
    expect(unstuffed(retr.slice(retr.indexOf('\r\n') + 2))).toBe(raw);
    expect(await h.say('DELE 30')).toBe('+OK message 30 deleted\r\n');
    expect(await h.say('QUIT')).toBe('+OK pop.example.org POP3 server signing off (29 messages left)\r\n');
    expect(h.actions.at(-1)).toBe('close');
    expect(h.committed).toEqual([[29]]);
  });
});

describe('POP3 session: every command in every state', () => {
  const allVerbs = [
    'USER x',
    'PASS x',
    'APOP x y',
    'STAT',
    'LIST',
    'UIDL',
    'RETR 1',
    'TOP 1 0',
    'DELE 1',
    'RSET',
    'NOOP',
  ];

  it('in AUTHORIZATION answers only USER, PASS after USER, AUTH, STLS, CAPA and QUIT', async () => {
    const h = start();
    for (const line of [
      'STAT',
      'LIST',
      'LIST 1',
      'UIDL',
      'UIDL 1',
      'RETR 1',
      'TOP 1 0',
      'DELE 1',
      'RSET',
      'NOOP',
    ])
      expect(await h.say(line), line).toBe('-ERR log in first\r\n');
    expect(await h.say('PASS x')).toBe('-ERR send USER first\r\n');
    expect(await h.say('APOP alice 0123456789abcdef0123456789abcdef')).toMatch(/^-ERR APOP is not supported/);
    expect(await h.say('XYZZY')).toBe('-ERR unknown command\r\n');
    expect(await h.say('')).toBe('-ERR unknown command\r\n');
    expect(await h.say('USER')).toBe('-ERR USER needs a name\r\n');
    expect(await h.say('CAPA')).toMatch(/^\+OK .*\r\n(.*\r\n)*\.\r\n$/);
    expect(await h.say('AUTH')).toMatch(/^\+OK .*\r\n(.*\r\n)*\.\r\n$/);
    expect(h.session.state).toBe('authorization');
    expect(h.actions.every((a) => a === 'continue')).toBe(true);
    expect(await h.say('QUIT')).toBe('+OK pop.example.org POP3 server signing off\r\n');
    expect(h.actions.at(-1)).toBe('close');
    expect(h.committed).toEqual([]);
  });

  it('in TRANSACTION refuses USER, PASS, AUTH, STLS and APOP, and answers the rest', async () => {
    const h = await loggedIn();
    for (const line of ['USER bob', 'PASS x', 'AUTH PLAIN', 'AUTH', 'STLS', 'APOP a b'])
      expect(await h.say(line), line).toBe('-ERR already logged in\r\n');
    expect(await h.say('NOOP')).toBe('+OK\r\n');
    expect(await h.say('STAT')).toBe(
      `+OK 3 ${messageOf(1).length + messageOf(2).length + messageOf(3).length}\r\n`,
    );
    expect(await h.say('LIST')).toBe(
      `+OK 3 messages\r\n1 ${messageOf(1).length}\r\n2 ${messageOf(2).length}\r\n3 ${messageOf(3).length}\r\n.\r\n`,
    );
    expect(await h.say('LIST 2')).toBe(`+OK 2 ${messageOf(2).length}\r\n`);
    expect(await h.say('UIDL 3')).toBe('+OK 3 7.3\r\n');
    expect(await h.say('RETR 1')).toBe(
      `+OK ${messageOf(1).length} octets\r\n${messageOf(1).toString()}.\r\n`,
    );
    expect(await h.say('TOP 2 1')).toBe(
      '+OK top of message follows\r\nSubject: message 2\r\nMessage-ID: <2@example.org>\r\n\r\nbody line\r\n.\r\n',
    );
    expect(await h.say('CAPA')).toMatch(/^\+OK /);
    expect(await h.say('XYZZY')).toBe('-ERR unknown command\r\n');
    expect(h.session.state).toBe('transaction');
  });

  it('takes keywords in any case', async () => {
    const h = start();
    expect(await h.say(`user ${USER}`, `pAsS ${PASSWORD}`)).toMatch(/\+OK alice@example\.org has 3 messages/);
    expect(await h.say('stat')).toMatch(/^\+OK 3 /);
    expect(await h.say('uIdL 1')).toBe('+OK 1 7.1\r\n');
    expect(await h.say('quit')).toMatch(/^\+OK /);
  });

  it('takes a password with spaces: everything after PASS and one space', async () => {
    const seen: string[] = [];
    const h = start({}, undefined, {
      lookupCredentials: async (user) => {
        seen.push(user);
        return undefined;
      },
    });
    expect(await h.say(`USER ${USER}`, 'PASS  two  spaces ')).toMatch(/-ERR \[AUTH\] authentication failed/);
    expect(seen).toEqual([USER]);
    const ok = start();
    // The same password with its spaces checked against the real verifier: it is not the right one.
    expect(await ok.say(`USER ${USER}`, `PASS ${PASSWORD} `)).toMatch(/-ERR \[AUTH\]/);
    expect(await ok.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(/^\+OK send PASS\r\n\+OK alice/);
  });

  it('refuses everything after a QUIT whose deletions could not be committed', async () => {
    const h = await loggedIn({}, undefined, {
      commitDeletions: async () => {
        throw new Error('database down');
      },
    });
    await h.say('DELE 1');
    expect(await h.say('QUIT')).toBe('-ERR [SYS/TEMP] some deleted messages were not removed\r\n');
    expect(h.actions.at(-1)).toBe('close');
    expect(h.session.state).toBe('update');
    for (const line of allVerbs) {
      expect(await h.say(line), line).toBe('-ERR the session is over\r\n');
      expect(h.actions.at(-1)).toBe('close');
    }
  });
});

describe('POP3 session: TRANSACTION', () => {
  it('lists, deletes, resets and commits deletions only at QUIT', async () => {
    const h = await loggedIn();
    expect(await h.say('DELE 2')).toBe('+OK message 2 deleted\r\n');
    expect(await h.say('DELE 2')).toBe('-ERR message 2 already deleted\r\n');
    for (const line of ['RETR 2', 'TOP 2 1', 'LIST 2', 'UIDL 2'])
      expect(await h.say(line), line).toBe('-ERR message 2 already deleted\r\n');
    expect(await h.say('LIST')).toBe(
      `+OK 2 messages\r\n1 ${messageOf(1).length}\r\n3 ${messageOf(3).length}\r\n.\r\n`,
    );
    expect(await h.say('UIDL')).toBe('+OK 2 messages\r\n1 7.1\r\n3 7.3\r\n.\r\n');
    expect(await h.say('STAT')).toBe(`+OK 2 ${messageOf(1).length + messageOf(3).length}\r\n`);
    expect(await h.say('RSET')).toBe('+OK maildrop has 3 messages\r\n');
    expect(await h.say('STAT')).toMatch(/^\+OK 3 /);
    expect(await h.say('RETR 2')).toMatch(/^\+OK /);
    expect(await h.say('DELE 1', 'DELE 3')).toBe('+OK message 1 deleted\r\n+OK message 3 deleted\r\n');
    expect(await h.say('DELE 3', 'NOOP')).toBe('-ERR message 3 already deleted\r\n+OK\r\n');
    expect(h.committed).toEqual([]);
    expect(await h.say('QUIT')).toBe('+OK pop.example.org POP3 server signing off (1 messages left)\r\n');
    expect(h.committed).toEqual([[0, 2]]);
  });

  it('commits an empty set when nothing was deleted, and RSET then QUIT deletes nothing', async () => {
    const h = await loggedIn();
    await h.say('DELE 1', 'DELE 2', 'RSET', 'QUIT');
    expect(h.committed).toEqual([[]]);
  });

  it('answers bad message numbers and arguments with -ERR and goes on', async () => {
    const h = await loggedIn();
    for (const line of [
      'RETR 0',
      'RETR 4',
      'RETR -1',
      'RETR +1',
      'RETR 01',
      'RETR 1x',
      'RETR 0x1',
      'RETR 1.0',
      'RETR 99999999999999999999',
      'RETR',
      'RETR 1 2',
      'LIST 99',
      'LIST 0',
      'LIST 1 2',
      'UIDL x',
      'DELE',
      'DELE 4',
      'TOP 1',
      'TOP 1 x',
      'TOP 1 -1',
      'TOP 4 1',
      'STAT 1',
      'FOO',
      'X',
    ]) {
      expect(await h.say(line), line).toMatch(/^-ERR [^\r\n]*\r\n$/);
    }
    expect(await h.say('RETR 4')).toBe('-ERR no such message\r\n');
    expect(await h.say('NOOP')).toBe('+OK\r\n');
    expect(h.session.state).toBe('transaction');
  });

  it('says [SYS/TEMP] when a message cannot be read, and goes on', async () => {
    const h = await loggedIn({}, undefined, {
      readMessage: async () => {
        throw new Error('blob store down');
      },
    });
    expect(await h.say('RETR 1')).toMatch(/^-ERR \[SYS\/TEMP\] /);
    expect(await h.say('TOP 1 0')).toMatch(/^-ERR \[SYS\/TEMP\] /);
    expect(await h.say('STAT')).toMatch(/^\+OK 3 /);
  });

  it('never commits deletions when the connection just ends', async () => {
    const h = await loggedIn();
    await h.say('DELE 1');
    await h.feed('DELE 2\r\nQUI');
    // The service drops the session without a whole QUIT: nothing may be removed.
    expect(h.committed).toEqual([]);
    expect(h.session.state).toBe('transaction');
  });
});

describe('POP3 session: RETR and TOP bodies', () => {
  const body = (raw: string) => {
    const message = Buffer.from(raw, 'latin1');
    return { message, entry: [message] };
  };

  it('TOP sends the header, the blank line and n body lines, dot-stuffed', async () => {
    const { entry } = body('Subject: dots\r\n\r\n.first\r\nsecond\r\n..third\r\nfourth\r\n');
    const h = await loggedIn({}, entry);
    expect(await h.say('TOP 1 0')).toBe('+OK top of message follows\r\nSubject: dots\r\n\r\n.\r\n');
    expect(await h.say('TOP 1 2')).toBe(
      '+OK top of message follows\r\nSubject: dots\r\n\r\n..first\r\nsecond\r\n.\r\n',
    );
    expect(await h.say('TOP 1 99')).toBe(
      '+OK top of message follows\r\nSubject: dots\r\n\r\n..first\r\nsecond\r\n...third\r\nfourth\r\n.\r\n',
    );
  });

  it('TOP of a message without a body sends the header and ends it with CRLF', async () => {
    const h = await loggedIn({}, body('Subject: no body').entry);
    expect(await h.say('TOP 1 0')).toBe('+OK top of message follows\r\nSubject: no body\r\n.\r\n');
    expect(await h.say('TOP 1 5')).toBe('+OK top of message follows\r\nSubject: no body\r\n.\r\n');
  });

  it('ends a message without a trailing CRLF with CRLF.CRLF, and its size counts what was stored', async () => {
    const { message, entry } = body('Subject: x\r\n\r\nno newline at the end');
    const h = await loggedIn({}, entry);
    expect(await h.say('LIST 1')).toBe(`+OK 1 ${message.length}\r\n`);
    expect(await h.say('RETR 1')).toBe(
      `+OK ${message.length} octets\r\nSubject: x\r\n\r\nno newline at the end\r\n.\r\n`,
    );
    expect(await h.say('TOP 1 1')).toBe(
      '+OK top of message follows\r\nSubject: x\r\n\r\nno newline at the end\r\n.\r\n',
    );
  });

  it('sends bare LF as CRLF, and LIST, STAT and the RETR octet count give the CRLF size', async () => {
    const { entry } = body('Subject: x\n\n.dot\nline\r\nlast\n');
    const wire = 'Subject: x\r\n\r\n.dot\r\nline\r\nlast\r\n';
    const h = await loggedIn({}, entry);
    expect(await h.say('STAT')).toBe(`+OK 1 ${wire.length}\r\n`);
    expect(await h.say('LIST')).toBe(`+OK 1 messages\r\n1 ${wire.length}\r\n.\r\n`);
    const retr = await h.say('RETR 1');
    expect(retr).toBe(`+OK ${wire.length} octets\r\nSubject: x\r\n\r\n..dot\r\nline\r\nlast\r\n.\r\n`);
    expect(retr).not.toMatch(/[^\r]\n/);
    expect(unstuffed(retr.slice(retr.indexOf('\r\n') + 2))).toBe(wire);
    expect(await h.say('TOP 1 1')).toBe('+OK top of message follows\r\nSubject: x\r\n\r\n..dot\r\n.\r\n');
  });

  it('streams a large message in chunks, never as one write', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) =>
      i % 7 === 0 ? `.line ${i}\r\n` : `line ${i}\r\n`,
    );
    const raw = Buffer.from(`Subject: big\r\n\r\n${lines.join('')}`);
    const h = await loggedIn({}, [raw]);
    h.writes.length = 0;
    const retr = await h.say('RETR 1');
    expect(h.writes.length).toBeGreaterThan(3);
    for (const chunk of h.writes) expect(chunk.length).toBeLessThanOrEqual(2 * 64 * 1024 + 2);
    expect(retr).toBe(`+OK ${raw.length} octets\r\n${raw.toString().replace(/^\./gm, '..')}.\r\n`);
  });

  it('waits for each body chunk the service is still writing, in order', async () => {
    const raw = Buffer.from(`Subject: big\r\n\r\n${'0123456789\r\n'.repeat(30_000)}`);
    let pending = 0;
    let most = 0;
    const h = await loggedIn({}, [raw], {}, () => {
      pending++;
      most = Math.max(most, pending);
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          pending--;
          resolve();
        }),
      );
    });
    await new Promise((resolve) => setImmediate(resolve));
    most = 0;
    const retr = await h.say('RETR 1');
    expect(h.writes.length).toBeGreaterThan(3);
    // The status line is not waited for; each body chunk is, before the next is made.
    expect(most).toBeLessThanOrEqual(2);
    expect(retr).toBe(`+OK ${raw.length} octets\r\n${raw.toString()}.\r\n`);
    expect(await h.say('NOOP')).toBe('+OK\r\n');
  });

  it('closes when a body chunk cannot be written, and says nothing in its middle', async () => {
    const raw = Buffer.from(`Subject: big\r\n\r\n${'0123456789\r\n'.repeat(30_000)}`);
    let broken = false;
    const h = await loggedIn({}, [raw], {}, (chunk) =>
      broken && typeof chunk !== 'string' ? Promise.reject(new Error('EPIPE')) : undefined,
    );
    broken = true;
    h.writes.length = 0;
    expect(await h.session.handleLine('RETR 1')).toBe('close');
    // The status line goes with the first chunk; nothing follows the failed write.
    expect(h.writes.length).toBe(1);
    const status = `+OK ${raw.length} octets\r\n`;
    expect(
      Buffer.from(h.writes[0]!)
        .subarray(0, status.length + 12)
        .toString(),
    ).toBe(`${status}Subject: big`);
  });
});

describe('POP3 session: robustness', () => {
  it('answers every line, whatever it is, with one +OK, -ERR or SASL challenge, and never throws', async () => {
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
    const multiLine = (line: string, answer: string) =>
      answer.startsWith('+OK') && (/^(CAPA|RETR|TOP)( |$)/i.test(line) || /^(LIST|UIDL|AUTH) ?$/i.test(line));
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
      fc.asyncProperty(fc.boolean(), fc.array(line, { maxLength: 25 }), async (login, lines) => {
        const h = login
          ? await loggedIn({}, [messageOf(1), messageOf(2), messageOf(3), messageOf(4)])
          : start();
        let inSasl = false;
        for (const l of lines) {
          if (h.actions.at(-1) === 'close') break;
          const answer = await h.say(l);
          expect(answer, l).toMatch(/^(\+OK|-ERR|\+ )/);
          expect(answer).not.toMatch(/[^\r]\n|\r(?!\n)/);
          if (!inSasl && multiLine(l, answer))
            expect(answer, l).toMatch(/\r\n\.\r\n$|^\+OK[^\r\n]*\r\n\.\r\n$/);
          else expect(answer.indexOf('\r\n'), l).toBe(answer.length - 2);
          inSasl = answer.startsWith('+ ');
        }
      }),
      { numRuns: 200 },
    );
  });
});
