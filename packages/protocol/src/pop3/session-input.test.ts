import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Harness, loggedIn, messageOf, PASSWORD, start, USER } from './test-session.js';

/** Records, for each framed line, what the session wrote in answer to it. */
function answersPerLine(h: Harness): { line: string | undefined; answer: string }[] {
  const answers: { line: string | undefined; answer: string }[] = [];
  const session = h.session;
  const handleLine = session.handleLine.bind(session);
  const lineTooLong = session.lineTooLong.bind(session);
  session.handleLine = async (line) => {
    const before = h.output().length;
    const action = await handleLine(line);
    answers.push({ line, answer: h.output().slice(before) });
    return action;
  };
  session.lineTooLong = () => {
    const before = h.output().length;
    lineTooLong();
    answers.push({ line: undefined, answer: h.output().slice(before) });
  };
  return answers;
}

/** Splits bytes at the given cut points. */
function cut(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...sorted, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

const LOGIN = `USER ${USER}\r\nPASS ${PASSWORD}\r\n`;
const WELCOME = '+OK alice@example.org has 3 messages\r\n';

describe('POP3 input framing (receive)', () => {
  it('answers pipelined commands in order, from one chunk', async () => {
    const h = start();
    expect(await h.feed(`${LOGIN}STAT\r\nLIST 1\r\nUIDL 2\r\nNOOP\r\n`)).toBe(
      `+OK send PASS\r\n${WELCOME}+OK 3 ${messageOf(1).length + messageOf(2).length + messageOf(3).length}\r\n` +
        `+OK 1 ${messageOf(1).length}\r\n+OK 2 7.2\r\n+OK\r\n`,
    );
  });

  it('answers the same however the bytes are split, even a byte at a time', async () => {
    const stream = `${LOGIN}STAT\r\nRETR 1\r\nTOP 2 1\nDELE 1\r\nLIST\r\nRSET\nUIDL\r\nQUIT\r\n`;
    const whole = start();
    await whole.feed(stream);
    const bytewise = start();
    await bytewise.feed(...stream.split(''));
    expect(bytewise.output()).toBe(whole.output());
    expect(bytewise.committed).toEqual([[]]);
  });

  it('keeps the order when the service does not wait between chunks', async () => {
    const h = start();
    const done = ['USER ', `${USER}\r\nPA`, `SS ${PASSWORD}\r\nST`, 'AT\r\nNOOP\r\n'].map((chunk) =>
      h.session.receive(Buffer.from(chunk)),
    );
    expect(await Promise.all(done)).toEqual(['continue', 'continue', 'continue', 'continue']);
    expect(h.output()).toMatch(
      /\+OK send PASS\r\n\+OK alice@example\.org has 3 messages\r\n\+OK 3 \d+\r\n\+OK\r\n$/,
    );
  });

  it('accepts a bare LF as a line end, and never writes one', async () => {
    const h = start();
    const answer = await h.feed(`USER ${USER}\nPASS ${PASSWORD}\nLIST\nRETR 1\n`);
    expect(answer).toMatch(/^\+OK send PASS\r\n\+OK alice/);
    expect(answer).not.toMatch(/[^\r]\n/);
  });

  it('keeps a bare CR inside the line', async () => {
    const h = await loggedIn();
    expect(await h.feed('NOOP\rSTAT\r\n')).toBe('-ERR unknown command\r\n');
  });

  it('takes a line of 255 octets with its CRLF, refuses 256, and goes on with the next command', async () => {
    const h = start();
    const fits = `USER ${'a'.repeat(255 - 2 - 5)}`;
    expect(await h.feed(`${fits}\r\n`)).toBe('+OK send PASS\r\n');
    expect(await h.feed(`${fits}a\r\nNOOP\r\n`)).toBe('-ERR command line too long\r\n-ERR log in first\r\n');
    expect(await h.feed(`${fits}\n`)).toBe('+OK send PASS\r\n');
    expect(await h.feed(`${fits}a\n`)).toBe('+OK send PASS\r\n');
    expect(await h.feed(`${fits}aa\n`)).toBe('-ERR command line too long\r\n');
  });

  it('drops a huge line as it arrives, answers it once at its end, and frames the next command', async () => {
    const h = start();
    const chunks = Array.from({ length: 200 }, () => 'x'.repeat(1000));
    expect(await h.feed('USER ', ...chunks, '\r', '\nCAPA\r\n')).toMatch(
      /^-ERR command line too long\r\n\+OK Capability list follows\r\n/,
    );
  });

  it('honours a configured command line limit', async () => {
    const h = start({ maxLineLength: 10 });
    expect(await h.feed('NOOP 123\r\nNOOP 1234\r\n')).toBe(
      '-ERR log in first\r\n-ERR command line too long\r\n',
    );
  });

  it('allows SASL responses longer than a command line', async () => {
    const h = start();
    await h.feed('AUTH LOGIN\r\n');
    const longName = `${'a'.repeat(300)}@example.org`;
    expect(await h.feed(`${Buffer.from(longName).toString('base64')}\r\n`)).toMatch(/^\+ /);
    expect(await h.feed(`${Buffer.from('x').toString('base64')}\r\n`)).toBe(
      '-ERR [AUTH] authentication failed\r\n',
    );
    const tight = start({ maxSaslLineLength: 100 });
    await tight.feed('AUTH LOGIN\r\n');
    expect(await tight.feed(`${'QUFB'.repeat(30)}\r\nNOOP\r\n`)).toBe(
      '-ERR response too long, authentication cancelled\r\n-ERR log in first\r\n',
    );
  });

  it('STLS: discards every byte pipelined behind it, and what arrives before TLS is up', async () => {
    const h = start({ plaintextAllowed: false });
    expect(await h.feed(`CAPA\r\nSTLS\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\nDELE 1\r\n`)).toMatch(
      /\r\n\.\r\n\+OK Begin TLS negotiation\r\n$/,
    );
    expect(h.actions).toEqual(['starttls']);
    // Still in clear, before the handshake: ignored, and 'starttls' is not said twice.
    expect(await h.feed('USER mallory@example.org\r\nQUIT\r\n')).toBe('');
    expect(h.actions).toEqual(['starttls', 'continue']);
    h.session.tlsStarted();
    expect(await h.feed(`PASS ${PASSWORD}\r\n`)).toBe('-ERR send USER first\r\n');
    expect(await h.feed(`USER ${USER}\r\nPASS ${PASSWORD}\r\n`)).toBe(`+OK send PASS\r\n${WELCOME}`);
    expect(h.session.state).toBe('transaction');
  });

  it('STLS cut inside a chunk boundary still discards the rest of the chunk', async () => {
    const h = start({ plaintextAllowed: false });
    expect(await h.feed('ST', 'LS\r\nUS', 'ER x\r\n')).toBe('+OK Begin TLS negotiation\r\n');
    h.session.tlsStarted();
    expect(await h.feed('CAPA\r\n')).toMatch(/^\+OK Capability list follows\r\n/);
  });

  it('QUIT: commits, says goodbye, and ignores anything after it', async () => {
    const h = await loggedIn();
    expect(await h.feed('DELE 1\r\nQUIT\r\nDELE 2\r\nQUIT\r\n')).toMatch(
      /^\+OK message 1 deleted\r\n\+OK [^\r\n]*signing off[^\r\n]*\r\n$/,
    );
    expect(h.committed).toEqual([[0]]);
    expect(await h.feed('NOOP\r\n')).toBe('');
    expect(h.actions.at(-1)).toBe('close');
  });

  it('QUIT in AUTHORIZATION closes without touching the maildrop', async () => {
    const h = start();
    expect(await h.feed('QUIT\r\nUSER x\r\n')).toBe('+OK pop.example.org POP3 server signing off\r\n');
    expect(h.actions).toEqual(['close']);
    expect(h.committed).toEqual([]);
  });
});

describe('POP3 input framing: a QUIT line inside a SASL exchange', () => {
  it("is the exchange's (bad) response, not a QUIT: the lines after it are still answered", async () => {
    const h = start({ tls: 'unavailable' });
    const answers = answersPerLine(h);
    await h.session.receive(Buffer.from('AUTH PLAIN\nQUIT \nUSER\n'));
    expect(answers.map((a) => a.answer.slice(0, 4))).toEqual(['+ \r\n', '-ERR', '-ERR']);
    expect(h.actions).not.toContain('close');
  });
});

describe('POP3 input framing: properties', () => {
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
    'APOP',
  ];
  const argument = fc.oneof(
    fc.integer({ min: -1, max: 6 }).map(String),
    fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'DIGEST-MD5', '=', '*', USER, PASSWORD),
    fc.string({ maxLength: 8 }),
  );
  /** Command lines, valid and mutated: no LF inside (a CR may be). */
  const commandLine = fc
    .oneof(
      fc
        .tuple(fc.constantFrom(...verbs), fc.array(argument, { maxLength: 3 }))
        .map(([verb, args]) => [verb, ...args].join(' ')),
      fc
        .tuple(
          fc.constantFrom(...verbs),
          fc.array(argument, { maxLength: 3 }),
          fc.nat(),
          fc.string({ maxLength: 3 }),
        )
        .map(([verb, args, at, junk]) => {
          const line = [verb, ...args].join(' ');
          const i = at % (line.length + 1);
          return line.slice(0, i) + junk + line.slice(i);
        }),
      fc.string({ maxLength: 40 }),
      fc.string({ minLength: 250, maxLength: 400 }),
      fc.constantFrom('', '*', ' ', 'QUIT ', 'STLS x'),
    )
    .map((line) => line.replace(/\n/g, ''));
  /** A stream of lines, each ended by CRLF or a bare LF, optionally after a login. */
  const stream = fc
    .tuple(
      fc.boolean(),
      fc.array(fc.tuple(commandLine, fc.boolean()), { maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
    )
    .map(([login, lines, cuts, overlap]) => {
      const prefix: [string, boolean][] = login
        ? [
            [`USER ${USER}`, true],
            [`PASS ${PASSWORD}`, true],
          ]
        : [];
      const all = [...prefix, ...lines];
      const bytes = Buffer.from(all.map(([line, crlf]) => `${line}${crlf ? '\r\n' : '\n'}`).join(''), 'utf8');
      return { lines: all.map(([line]) => line), chunks: cut(bytes, cuts), overlap };
    });

  const feedAll = async (h: Harness, chunks: readonly Buffer[], overlap: boolean) => {
    if (overlap) await Promise.all(chunks.map((chunk) => h.session.receive(chunk)));
    else for (const chunk of chunks) await h.session.receive(chunk);
  };

  it('answers every complete line exactly once, in order, with +OK, -ERR or "+ ", and never a bare LF', async () => {
    await fc.assert(
      fc.asyncProperty(stream, async ({ lines, chunks, overlap }) => {
        const h = start({ tls: 'unavailable' });
        const answers = answersPerLine(h);
        await expect(feedAll(h, chunks, overlap)).resolves.toBeUndefined();
        // Without STLS available, only a QUIT command stops the reading; a "QUIT" line
        // sent while a SASL exchange waits ("+ ") is that exchange's response instead.
        const fits = (l: string) => Buffer.byteLength(l) + 2 <= 255;
        const quit = lines.findIndex(
          (l, i) => /^QUIT( |$)/i.test(l) && fits(l) && !answers[i - 1]?.answer.startsWith('+ '),
        );
        expect(answers.length).toBe(quit < 0 ? lines.length : quit + 1);
        let inSasl = false;
        for (const [i, { line, answer }] of answers.entries()) {
          // A continuation only ever answers AUTH, or a response within its exchange.
          if (answer.startsWith('+ ')) expect(inSasl || /^AUTH /i.test(lines[i]!), lines[i]).toBe(true);
          if (line !== undefined) expect(line).toBe(Buffer.from(lines[i]!, 'utf8').toString('utf8'));
          expect(answer, line).toMatch(/^(\+OK|-ERR|\+ )/);
          expect(answer).not.toMatch(/[^\r]\n|\r(?!\n)|^\n/);
          const multi =
            !inSasl &&
            answer.startsWith('+OK') &&
            line !== undefined &&
            (/^(CAPA|RETR|TOP)( |$)/i.test(line) || /^(LIST|UIDL|AUTH) ?$/i.test(line));
          if (multi) expect(answer, line).toMatch(/^\+OK[^\r\n]*\r\n([^\r\n]*\r\n)*\.\r\n$/);
          else expect(answer.indexOf('\r\n'), line).toBe(answer.length - 2);
          inSasl = answer.startsWith('+ ');
        }
        expect(h.committed.length).toBe(quit >= 0 && h.session.state !== 'authorization' ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the same answers however the stream is cut', async () => {
    // Challenges carry random nonces: compare with those masked.
    const mask = (text: string) => text.replace(/^\+ .*$/gm, '+ ~');
    await fc.assert(
      fc.asyncProperty(stream, async ({ chunks, overlap }) => {
        const whole = start({ tls: 'unavailable' });
        await whole.session.receive(Buffer.concat(chunks));
        const split = start({ tls: 'unavailable' });
        await feedAll(split, chunks, overlap);
        expect(mask(split.output())).toBe(mask(whole.output()));
        expect(split.committed).toEqual(whole.committed);
      }),
      { numRuns: 200 },
    );
  });

  it('after STLS, acts on nothing that was sent in clear', async () => {
    await fc.assert(
      fc.asyncProperty(stream, fc.nat(), async ({ lines, chunks }, at) => {
        // Commands before STLS, none of which can turn STLS into a SASL response or end the session.
        const before = lines
          .filter((l) => !/^(STLS|QUIT|AUTH)( |$)/i.test(l) && Buffer.byteLength(l) < 200)
          .slice(0, at % 5);
        const h = start({ plaintextAllowed: false });
        const answers = answersPerLine(h);
        await h.session.receive(Buffer.from(`${before.map((l) => `${l}\r\n`).join('')}STLS\r\n`));
        const stlsAnswered = answers.length;
        expect(stlsAnswered).toBe(before.length + 1);
        expect(h.output()).toMatch(/\+OK Begin TLS negotiation\r\n$/);
        for (const chunk of chunks) expect(await h.session.receive(chunk)).toBe('continue');
        expect(answers.length).toBe(stlsAnswered);
        expect(h.session.state).toBe('authorization');
      }),
      { numRuns: 200 },
    );
  });
});
