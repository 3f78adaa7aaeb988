import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derivePasswordSecrets } from '../sasl/password-secrets.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { type ByteSource, chunksSource } from './byte-source.js';
import { reply } from './reply.js';
import { SmtpSession } from './session.js';
import type { SmtpEnvelope, SmtpSessionConfig, SmtpSessionHooks } from './session-types.js';

const CONFIG: SmtpSessionConfig = {
  hostname: 'mx.example.org',
  role: 'submission',
  tls: 'unavailable',
  allowPlaintextAuth: true,
  maxMessageBytes: 10_000,
  maxRecipients: 3,
  maxCommandLineBytes: 1000,
  commandTimeoutMs: 1000,
  dataTimeoutMs: 1000,
  maxErrors: 10,
  realms: () => ['example.org'],
};

const credentials = derivePasswordSecrets('alice@example.org', 'example.org', 'tanstaaftanstaaf').then(
  (secrets): SaslCredentials => ({ ...secrets, accountId: '1', address: 'alice@example.org' }),
);

interface Recorded {
  output: string;
  delivered: { envelope: SmtpEnvelope; message: string }[];
}

async function converse(
  input: (string | Buffer)[],
  config: Partial<SmtpSessionConfig> = {},
  source?: ByteSource,
  onSend?: (text: string) => void,
  overrides: Partial<SmtpSessionHooks> = {},
) {
  const recorded: Recorded = { output: '', delivered: [] };
  const hooks: SmtpSessionHooks = {
    send: (text) => {
      recorded.output += text;
      onSend?.(text);
    },
    startTls: async () => null,
    lookupCredentials: async (user) => (user === 'alice@example.org' ? credentials : undefined),
    checkSender: async () => undefined,
    postmasterDomain: async () => 'example.org',
    checkRecipient: async (_client, to) =>
      to.kind === 'mailbox' && to.mailbox.localPart === 'nobody'
        ? reply(550, '5.1.1', 'User unknown')
        : undefined,
    deliver: async (_client, envelope, message) => {
      recorded.delivered.push({ envelope, message: message.toString('latin1') });
      return reply(250, '2.0.0', 'Ok: queued as TEST');
    },
    penalise: async () => ({ delayMs: 0, disconnect: false }),
    ...overrides,
  };
  const session = new SmtpSession(
    { ...CONFIG, ...config },
    hooks,
    source ?? chunksSource(input),
    '192.0.2.1',
  );
  await session.run();
  return recorded;
}

describe('SmtpSession', () => {
  it('greets, lists its extensions after EHLO, and says goodbye', async () => {
    const { output } = await converse(['EHLO client.example.net\r\nQUIT\r\n']);
    expect(output).toBe(
      '220 mx.example.org ESMTP Tegami\r\n' +
        '250-mx.example.org Hello client.example.net [192.0.2.1]\r\n' +
        '250-PIPELINING\r\n' +
        '250-SIZE 10000\r\n' +
        '250-8BITMIME\r\n' +
        '250-SMTPUTF8\r\n' +
        '250-ENHANCEDSTATUSCODES\r\n' +
        '250-AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256 PLAIN LOGIN\r\n' +
        '250-DSN\r\n' +
        '250-CHUNKING\r\n' +
        '250 HELP\r\n' +
        '221 2.0.0 Bye\r\n',
    );
  });

  it('neither offers nor accepts CRAM-MD5 and DIGEST-MD5 when the operator turned them off', async () => {
    const { output } = await converse(
      ['EHLO client.example.net\r\nAUTH CRAM-MD5\r\nAUTH DIGEST-MD5\r\nQUIT\r\n'],
      { saslMechanisms: ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'] },
    );
    expect(output).toContain('250-AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n');
    expect(output).toContain(
      '504 5.5.4 Unrecognized authentication type\r\n504 5.5.4 Unrecognized authentication type\r\n221',
    );
  });

  it('does the classic CRAM-MD5 exchange: 334 challenge, response, 235', async () => {
    const { createHmac } = await import('node:crypto');
    let output = '';
    let reads = 0;
    // Answers the 334 challenge the way a client computes it (RFC 2195).
    const source: ByteSource = {
      read: async () => {
        reads++;
        if (reads === 1) return Buffer.from('EHLO client.example.net\r\nAUTH CRAM-MD5\r\n');
        if (reads === 2) {
          const challenge = Buffer.from(/\r\n334 (\S+)\r\n$/.exec(output)![1]!, 'base64').toString();
          expect(challenge).toMatch(/^<[^@]+@mx\.example\.org>$/);
          const digest = createHmac('md5', 'tanstaaftanstaaf').update(challenge).digest('hex');
          return Buffer.from(`${Buffer.from(`alice@example.org ${digest}`).toString('base64')}\r\nQUIT\r\n`);
        }
        return null;
      },
    };
    const recorded = await converse([], {}, source, (text) => {
      output += text;
    });
    expect(recorded.output).toMatch(/250-AUTH CRAM-MD5 DIGEST-MD5 /);
    expect(recorded.output).toMatch(
      /\r\n334 \S+\r\n235 2\.7\.0 Authentication successful\r\n221 2\.0\.0 Bye\r\n$/,
    );
  });

  it('runs a pipelined transaction and hands the unstuffed message to deliver', async () => {
    const { output, delivered } = await converse([
      'EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHRhbnN0YWFmdGFuc3RhYWY=\r\n',
      'MAIL FROM:<alice@example.org> SIZE=50\r\nRCPT TO:<bob@example.net> NOTIFY=FAILURE\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n',
      'Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n',
    ]);
    expect(output.split('\r\n').slice(-8)).toEqual([
      '235 2.7.0 Authentication successful',
      '250 2.1.0 Ok',
      '250 2.1.5 Ok',
      '550 5.1.1 User unknown',
      '354 End data with <CR><LF>.<CR><LF>',
      '250 2.0.0 Ok: queued as TEST',
      '221 2.0.0 Bye',
      '',
    ]);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.message).toBe('Subject: x\r\n\r\n.dot\r\n');
    expect(delivered[0]!.envelope.recipients.map((r) => r.address)).toEqual(['bob@example.net']);
    expect(delivered[0]!.envelope.recipients[0]!.params.notify).toEqual(['FAILURE']);
  });

  it('requires AUTH before MAIL on submission and refuses AUTH on port 25', async () => {
    expect((await converse(['EHLO c\r\nMAIL FROM:<a@example.org>\r\n'])).output).toContain(
      '530 5.7.0 Authentication required\r\n',
    );
    const mx = await converse(['EHLO c\r\nAUTH PLAIN\r\n'], { role: 'mx' });
    expect(mx.output).not.toContain('AUTH ');
    expect(mx.output).toContain('503 5.5.1 Error: authentication not enabled\r\n');
  });

  it('closes with 421 after too many errors', async () => {
    const { output } = await converse([Array.from({ length: 20 }, () => 'BOGUS\r\n').join('')], {
      maxErrors: 3,
    });
    expect(output.trimEnd().split('\r\n').slice(-1)[0]).toBe(
      '421 4.7.0 mx.example.org Error: too many errors',
    );
    expect(output.match(/^500 /gm)).toHaveLength(3);
  });

  it('refuses a message holding a NUL with 550 5.6.0 once it has all been read, and goes on', async () => {
    const { output, delivered } = await converse([
      'EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHRhbnN0YWFmdGFuc3RhYWY=\r\n',
      'MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n',
      'Subject: x\r\n\r\nbefore\0after\r\n',
      'more\r\n.\r\nNOOP\r\n',
    ]);
    expect(output.split('\r\n').slice(-4)).toEqual([
      '354 End data with <CR><LF>.<CR><LF>',
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)',
      '250 2.0.0 Ok',
      '',
    ]);
    expect(delivered).toEqual([]);
  });

  it('refuses a BDAT message with a NUL in any chunk, answering that chunk and each after it', async () => {
    const { output, delivered } = await converse([
      'EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHRhbnN0YWFmdGFuc3RhYWY=\r\n',
      'MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n',
      'BDAT 6\r\nab\r\ncd',
      'BDAT 3\r\ne\0f',
      'BDAT 4 LAST\r\ng\r\nh',
      'NOOP\r\n',
    ]);
    expect(output.split('\r\n').slice(-5)).toEqual([
      '250 2.0.0 6 octets received',
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)',
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)',
      '250 2.0.0 Ok',
      '',
    ]);
    expect(delivered).toEqual([]);
  });

  it('takes a DATA line of any length as it is: 1,200 and 100,000 octets', async () => {
    for (const length of [1_200, 100_000]) {
      const line = 'x'.repeat(length);
      const { output, delivered } = await converse(
        [
          'EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHRhbnN0YWFmdGFuc3RhYWY=\r\n',
          'MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n',
          `Subject: long\r\n\r\n${line}\r\n.\r\n`,
        ],
        { maxMessageBytes: 200_000 },
      );
      expect(output).toContain('\r\n250 2.0.0 Ok: queued as TEST\r\n');
      expect(delivered[0]!.message).toBe(`Subject: long\r\n\r\n${line}\r\n`);
    }
  });

  it('answers a NUL in a command line as bad syntax, never as a command', async () => {
    const { output } = await converse(['EHLO c\r\nNOOP\0\r\nMAIL FROM:<a\0b@example.org>\r\nQUIT\r\n']);
    expect(output.split('\r\n').slice(-4)).toEqual([
      '500 5.5.2 Command not recognized',
      '501 5.1.7 Bad sender address syntax',
      '221 2.0.0 Bye',
      '',
    ]);
  });

  it('takes <Postmaster> as postmaster@ the local domain the service names, never relaying it', async () => {
    const checked: string[] = [];
    const { output, delivered } = await converse(
      ['EHLO c\r\nMAIL FROM:<x@example.net>\r\nRCPT TO:<POSTMASTER>\r\nDATA\r\nhi\r\n.\r\n'],
      { role: 'mx' },
      undefined,
      undefined,
      {
        postmasterDomain: async () => 'example.org',
        checkRecipient: async (_client, to) => {
          checked.push(to.kind === 'mailbox' ? to.mailbox.text : to.kind);
          return undefined;
        },
      },
    );
    expect(output).toContain('\r\n250 2.1.5 Ok\r\n');
    expect(checked).toEqual(['postmaster@example.org']);
    expect(delivered[0]!.envelope.recipients.map((r) => r.address)).toEqual(['postmaster@example.org']);
  });

  it('refuses <Postmaster> as the service says when it has no local domain for it', async () => {
    const { output } = await converse(
      ['EHLO c\r\nMAIL FROM:<x@example.net>\r\nRCPT TO:<Postmaster>\r\n'],
      { role: 'mx' },
      undefined,
      undefined,
      { postmasterDomain: async () => reply(550, '5.1.1', '<Postmaster>: no local domain') },
    );
    expect(output).toMatch(/\r\n550 5\.1\.1 <Postmaster>: no local domain\r\n$/);
  });

  it('tells the service each HELO/EHLO name as it is accepted, and not a refused one', async () => {
    const names: (string | undefined)[] = [];
    await converse(
      ['EHLO first.example.net\r\nEHLO bad_name!\r\nHELO second.example.net\r\nQUIT\r\n'],
      {},
      undefined,
      undefined,
      { heloReceived: (client) => names.push(client.helo) },
    );
    expect(names).toEqual(['first.example.net', 'second.example.net']);
  });

  it("gives every hook the service's reverse DNS name once it knows one, and none before", async () => {
    let known: string | undefined;
    const seen: [string, string | undefined][] = [];
    const { output } = await converse(
      ['EHLO client.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nQUIT\r\n'],
      { role: 'mx' },
      undefined,
      undefined,
      {
        reverseName: () => known,
        heloReceived: (client) => {
          seen.push(['helo', client.reverseName]);
          known = 'client.example.net';
        },
        checkSender: async (client) => {
          seen.push(['sender', client.reverseName]);
          return undefined;
        },
        checkRecipient: async (client) => {
          seen.push(['recipient', client.reverseName]);
          return undefined;
        },
      },
    );
    expect(output).toContain('250 2.1.5 Ok');
    expect(seen).toEqual([
      ['helo', undefined],
      ['sender', 'client.example.net'],
      ['recipient', 'client.example.net'],
    ]);
  });

  it('echoes a U-label EHLO name as its A-label: reply text is US-ASCII (found by fuzzing)', async () => {
    const { output } = await converse([Buffer.from('EHLO bücher.example\r\nEHLO ａ.例子\r\nQUIT\r\n')]);
    expect(output).toContain('250-mx.example.org Hello xn--bcher-kva.example [192.0.2.1]\r\n');
    expect(output).toContain('250-mx.example.org Hello a.xn--fsqu00a [192.0.2.1]\r\n');
    expect(output).toMatch(/^[\r\n\x20-\x7e]*$/);
  });

  it('refuses NUL and bare line ends in US-ASCII reply text (found by fuzzing)', async () => {
    const transaction = 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n';
    const nul = await converse([`${transaction}a\u0000b\r\n.\r\nQUIT\r\n`], { role: 'mx' });
    expect(nul.output).toContain(
      '550 5.6.0 Error: NUL character in message: refused (RFC 2045 section 2.8)\r\n',
    );
    const bare = await converse([`${transaction}a\n.\nQUIT\r\n`], { role: 'mx' });
    expect(bare.output).toContain(
      '550 5.5.2 Error: bare CR or LF in message: refused (RFC 5321 section 2.3.8)\r\n',
    );
    for (const { output } of [nul, bare]) expect(output).toMatch(/^[\r\n\x20-\x7e]*$/);
  });

  it('answers every input with replies and never throws (property)', async () => {
    const words = fc.constantFrom(
      'EHLO x',
      'HELO x',
      'MAIL FROM:<a@b.example>',
      'RCPT TO:<c@d.example>',
      'DATA',
      'BDAT 3',
      'BDAT 0 LAST',
      'RSET',
      'NOOP',
      'AUTH PLAIN',
      'AUTH LOGIN',
      '*',
      'STARTTLS',
      'VRFY x',
      '.',
      '',
    );
    const line = fc.oneof(words, fc.string({ maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 30 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (lines, cuts) => {
          const wire = lines.map((l) => `${l}\r\n`).join('');
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const chunks = [...points, wire.length].map((end, i, all) =>
            wire.slice(i === 0 ? 0 : all[i - 1], end),
          );
          const { output } = await converse(chunks, { maxErrors: 100 });
          expect(output.startsWith('220 ')).toBe(true);
          // Every reply line is well formed.
          for (const replyLine of output.split('\r\n').slice(0, -1))
            expect(replyLine).toMatch(/^[2-5]\d\d[ -]/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SmtpSession.drain (graceful shutdown)', () => {
  /** A source the test feeds by hand; reads wait until something is fed. */
  function handFed() {
    const queue: Buffer[] = [];
    let waiting: ((chunk: Buffer | null) => void) | undefined;
    const source: ByteSource = {
      read: () =>
        new Promise((resolve) => {
          const next = queue.shift();
          if (next) resolve(next);
          else waiting = resolve;
        }),
    };
    const feed = (text: string) => {
      const chunk = Buffer.from(text, 'latin1');
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(chunk);
      } else queue.push(chunk);
    };
    return { source, feed };
  }

  function start(source: ByteSource) {
    let output = '';
    const delivered: string[] = [];
    const session = new SmtpSession(
      { ...CONFIG, role: 'mx', commandTimeoutMs: 60_000, dataTimeoutMs: 60_000 },
      {
        send: (text) => {
          output += text;
        },
        startTls: async () => null,
        lookupCredentials: async () => undefined,
        checkSender: async () => undefined,
        postmasterDomain: async () => 'example.org',
        checkRecipient: async () => undefined,
        deliver: async (_client, _envelope, message) => {
          delivered.push(message.toString('latin1'));
          return reply(250, '2.0.0', 'Ok: queued as TEST');
        },
        penalise: async () => ({ delayMs: 0, disconnect: false }),
      },
      source,
      '192.0.2.1',
    );
    const ran = session.run();
    return { session, ran, output: () => output, delivered };
  }

  const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

  it('answers 421 at once to a session waiting between transactions', async () => {
    const { source, feed } = handFed();
    const s = start(source);
    feed('EHLO client.example.net\r\n');
    await tick();
    s.session.drain();
    await s.ran;
    expect(s.output()).toMatch(
      /\r\n421 4\.3\.2 mx\.example\.org Service shutting down, try again later\r\n$/,
    );
  });

  it('lets a transaction in progress finish with its 250, then answers the next command 421', async () => {
    const { source, feed } = handFed();
    const s = start(source);
    feed('EHLO client.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n');
    await tick();
    s.session.drain();
    await tick();
    expect(s.output()).not.toMatch(/421/);
    feed('DATA\r\n');
    await tick();
    feed('Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@example.net>\r\n');
    await s.ran;
    expect(s.delivered).toEqual(['Subject: x\r\n\r\nbody\r\n']);
    expect(s.output()).toMatch(
      /\r\n354 [^\r]*\r\n250 2\.0\.0 Ok: queued as TEST\r\n421 4\.3\.2 mx\.example\.org Service shutting down, try again later\r\n$/,
    );
  });

  it('refuses a new session at its first command once draining', async () => {
    const { source, feed } = handFed();
    const s = start(source);
    s.session.drain();
    feed('EHLO client.example.net\r\n');
    await s.ran;
    expect(s.output()).toBe(
      '220 mx.example.org ESMTP Tegami\r\n421 4.3.2 mx.example.org Service shutting down, try again later\r\n',
    );
  });
});
