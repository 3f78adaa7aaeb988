import fc from 'fast-check';
import { ALICE, aliceCredentials } from '../../../packages/protocol/src/sasl/test-accounts.js';
import { type ByteSource, ReadTimeout } from '../../../packages/protocol/src/smtp/byte-source.js';
import { encodeXtext, parseCommand } from '../../../packages/protocol/src/smtp/command.js';
import { reply } from '../../../packages/protocol/src/smtp/reply.js';
import { SmtpSession } from '../../../packages/protocol/src/smtp/session.js';
import type {
  SmtpEnvelope,
  SmtpSessionConfig,
  SmtpSessionHooks,
} from '../../../packages/protocol/src/smtp/session-types.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { anyCase, domain, latin1, mailbox, nasty } from '../protocol-grammar.js';

// The SMTP server session (packages/protocol/src/smtp/session.ts, what smtp-ingress runs per
// connection) through whole conversations: generated commands (EHLO/HELO, MAIL and RCPT
// with parameters, DATA with dot-stuffed bodies, BDAT chunks, RSET, NOOP, VRFY, HELP, AUTH
// with garbage, STARTTLS, QUIT), over-long lines, bare CR and LF, NUL bytes, all pipelined
// and split into random chunks; the client hangs up or goes silent at the end, and the
// service may shut down (drain) or disconnect on a penalty on the way. The properties:
// - the session never throws, and each write is one valid SMTP reply: 3-digit code, "-" on
//   every line but the last, the same code on each, US-ASCII text (RFC 5321 §4.2), CRLF,
//   at most 512 octets a line (§4.5.3.1.5);
// - one final reply per command, in order: the client's bytes are walked the way the server
//   must frame them (a line, a DATA body after a 354, the AUTH responses after each 334,
//   BDAT's octets whatever its answer), and each reply must fit where it falls; 421 comes
//   exactly when maxErrors is passed, the penalty says so, a silent client times out or a
//   drain finds no transaction open; nothing follows a 221 or a 421;
// - a message is delivered (and answered as deliver says) only after a MAIL and at least
//   one accepted RCPT, to exactly the accepted recipients, with the body the client meant:
//   unstuffed DATA, or the BDAT chunks end to end;
// - the same bytes in one piece give the same replies and deliveries.

interface SessionInput {
  readonly config: {
    readonly role: 'mx' | 'submission';
    readonly tls: 'starttls' | 'unavailable' | 'implicit';
    readonly allowPlaintextAuth: boolean;
    readonly maxMessageBytes: number;
    readonly maxErrors: number;
    /** Whether the STARTTLS handshake succeeds (then `afterTls` is what arrives over TLS). */
    readonly handshake: boolean;
    readonly deliverCode: number;
    /** How the client's bytes end: the connection closes, or the client goes silent. */
    readonly end: 'eof' | 'timeout';
    /** Graceful shutdown (SmtpSession.drain) as the session writes its reply number N, if any. */
    readonly drainAt: number | null;
    /** The penalty hook's call (refusals and failed logins) that says to disconnect, if any. */
    readonly disconnectAt: number | null;
  };
  /** What the client sends in clear, cut into chunks. */
  readonly chunks: readonly Uint8Array[];
  /** What it sends after a successful STARTTLS. */
  readonly afterTls: readonly Uint8Array[];
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const MAX_COMMAND_LINE = 1000;
// The AUTH response line limit of commands/auth.ts (RFC 4954 §4).
const MAX_AUTH_LINE = 12_288;
const MAX_RECIPIENTS = 3;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

// ---------------------------------------------------------------------------------------
// Inputs

const mailParam = fc.oneof(
  fc.nat({ max: 20_000 }).map((n) => `SIZE=${n}`),
  fc.constantFrom('BODY=8BITMIME', 'BODY=7BIT', 'BODY=BINARYMIME', 'SMTPUTF8', 'REQUIRETLS', 'RET=HDRS'),
  fc.constantFrom('ENVID=QQ314159', 'AUTH=<>', 'X-UNKNOWN=1', 'SIZE=x'),
  mailbox.map((m) => `AUTH=${encodeXtext(m)}`),
);

const rcptParam = fc.constantFrom('NOTIFY=NEVER', 'NOTIFY=SUCCESS,DELAY', 'ORCPT=rfc822;a+40b', 'X=Y');

const recipient = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('bob@example.org', 'carol@example.net', 'nobody@example.org') },
  { weight: 1, arbitrary: fc.constantFrom('Postmaster', 'postmaster@example.org', 'bücher@例子.广告') },
  { weight: 2, arbitrary: mailbox },
);

const sender = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('alice@example.com', '', 'spammer@example.com') },
  { weight: 1, arbitrary: mailbox },
);

/** A body line as a client holds it (before dot-stuffing). */
const bodyLine = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: fc.constantFrom('a', ' ', '.', ':', 'é', '\t'), maxLength: 10 }),
  },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', 'QUIT', 'MAIL FROM:<x@y>', '.\r\nRSET', 'a\u0000b') },
);

/** RFC 5321 §4.5.2: the client doubles a leading dot and ends with CRLF.CRLF. */
function stuffed(lines: readonly string[]): string {
  return `${lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join('')}.\r\n`;
}

const dataBody = fc.oneof(
  { weight: 5, arbitrary: fc.array(bodyLine, { maxLength: 8 }).map(stuffed) },
  // Not stuffed, bare line ends, a body never ended: the smuggling shapes.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'a\n.\nMAIL FROM:<evil@x>\r\n.\r\n',
      'a\r\n.\rRSET\r\n.\r\n',
      'x\r\n..\r\n.\r\n',
      '.\r\n',
      'no end',
      `${'y'.repeat(3000)}\r\n.\r\n`,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\u0000'), maxLength: 12 }),
  },
);

/** BDAT with a chunk: the declared size mostly right, sometimes not. */
const bdat = fc
  .tuple(
    fc.string({ unit: fc.constantFrom('a', '.', '\r\n', '\u0000', 'é'), maxLength: 40 }),
    fc.constantFrom(' LAST', ' last', '', '', ' LAST x'),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
    ),
    anyCase('BDAT'),
  )
  .map(([chunk, last, skew, verb]) => {
    const size = Math.max(0, Buffer.byteLength(chunk, 'latin1') + skew);
    return `${verb} ${size}${last}\r\n${chunk}`;
  });

const auth = fc.oneof(
  fc.constantFrom(
    `AUTH PLAIN ${b64(`\u0000${ALICE.address}\u0000${ALICE.password}`)}`,
    `AUTH PLAIN\r\n${b64(`\u0000${ALICE.address}\u0000${ALICE.password}`)}`,
    `AUTH LOGIN\r\n${b64(ALICE.address)}\r\n${b64(ALICE.password)}`,
    `AUTH PLAIN ${b64('\u0000bob@example.org\u0000wrong')}`,
    'AUTH LOGIN\r\n*',
    'AUTH CRAM-MD5\r\nbm90IGEgcmVzcG9uc2U=',
    'AUTH SCRAM-SHA-256\r\n=',
    'AUTH DIGEST-MD5\r\n!!!',
    'AUTH PLAIN =',
    'AUTH X-NONE',
    'AUTH',
  ),
  fc
    .tuple(
      fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'DIGEST-MD5'),
      fc.array(fc.oneof(fc.base64String({ maxLength: 24 }), nasty), { maxLength: 3 }),
    )
    .map(([mechanism, answers]) => [`AUTH ${mechanism}`, ...answers].join('\r\n')),
);

/** One step of the conversation, without its final line end (bodies carry their own). */
const step: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(anyCase('EHLO'), domain).map(([v, d]) => `${v} ${d}`) },
  { weight: 1, arbitrary: fc.tuple(anyCase('HELO'), fc.oneof(domain, nasty)).map(([v, d]) => `${v} ${d}`) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(anyCase('MAIL FROM:'), sender, fc.array(mailParam, { maxLength: 2 }))
      .map(([v, s, p]) => [`${v}<${s}>`, ...p].join(' ')),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(anyCase('RCPT TO:'), recipient, fc.array(rcptParam, { maxLength: 2 }))
      .map(([v, r, p]) => [`${v}<${r}>`, ...p].join(' ')),
  },
  // DATA's body goes in the same step: a client sends it after the 354.
  { weight: 4, arbitrary: fc.tuple(anyCase('DATA'), dataBody).map(([v, body]) => `${v}\r\n${body}`) },
  { weight: 3, arbitrary: bdat },
  { weight: 2, arbitrary: auth },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('RSET', 'NOOP', 'VRFY', 'EXPN', 'HELP', 'QUIT', 'STARTTLS', 'DATA', 'XYZZY'),
        fc.oneof(
          fc.constant(''),
          nasty.map((n) => ` ${n}`),
        ),
      )
      .map(([v, rest]) => `${v}${rest}`),
  },
  // Lines too long for a command (1000 octets) or for an AUTH response.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('NOOP ', 'MAIL FROM:<', 'EHLO ', ''), fc.integer({ min: 990, max: 13_000 }))
      .map(([v, n]) => v + 'x'.repeat(n)),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
);

const lineEnd = fc.oneof(
  { weight: 12, arbitrary: fc.constant('\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '') },
);

/** A conversation: often an opening that reaches a transaction, then any steps. */
const conversation = fc
  .tuple(
    fc.constantFrom(
      '',
      'EHLO client.example\r\n',
      'EHLO client.example\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n',
      `EHLO client.example\r\nAUTH PLAIN ${b64(`\u0000${ALICE.address}\u0000${ALICE.password}`)}\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n`,
    ),
    fc.array(fc.tuple(step, lineEnd), { maxLength: 10 }),
  )
  .map(([opening, steps]) =>
    latin1(opening + steps.map(([s, e]) => Buffer.from(s, 'utf8').toString('latin1') + e).join('')),
  );

const SEEDS = [
  'EHLO a.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n',
  'EHLO a.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 5\r\nhelloBDAT 3 LAST\r\nabcQUIT\r\n',
  'HELO a\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\na\n.\nMAIL FROM:<x@y>\r\n.\r\n',
  'EHLO a.example\r\nSTARTTLS\r\nEHLO a.example\r\nQUIT\r\n',
  'EHLO a.example\r\nAUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS5vcmc=\r\nY29ycmVjdCBob3JzZQ==\r\nMAIL FROM:<a@example.org>\r\n',
].map(latin1);

/** Cuts bytes at the given points (each taken modulo the length). */
function cut(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

const stream = fc.oneof(
  { weight: 4, arbitrary: conversation },
  { weight: 1, arbitrary: mutatedBytes(SEEDS, { base: conversation }) },
);

const input: fc.Arbitrary<SessionInput> = fc
  .record({
    role: fc.constantFrom('mx', 'mx', 'submission'),
    tls: fc.constantFrom('starttls', 'unavailable', 'implicit'),
    allowPlaintextAuth: fc.boolean(),
    maxMessageBytes: fc.constantFrom(64, 100_000),
    maxErrors: fc.constantFrom(3, 20, 20),
    handshake: fc.boolean(),
    deliverCode: fc.constantFrom(250, 250, 250, 451, 554),
    end: fc.constantFrom('eof', 'eof', 'timeout'),
    drainAt: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) },
    ),
    disconnectAt: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) },
    ),
    clear: stream,
    clearCuts: fc.array(fc.nat(), { maxLength: 8 }),
    tlsStream: fc.oneof(fc.constant(new Uint8Array(0)), conversation),
    tlsCuts: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ clear, clearCuts, tlsStream, tlsCuts, ...config }) => ({
    config,
    chunks: cut(clear, clearCuts),
    afterTls: cut(tlsStream, tlsCuts),
  }));

// ---------------------------------------------------------------------------------------
// Running a session

/** The chunks, then the end of the stream or, for a client gone silent, a read timeout. */
function source(chunks: readonly Uint8Array[], end: 'eof' | 'timeout'): ByteSource {
  const queue = chunks.map((chunk) => Buffer.from(chunk));
  return {
    read: async (timeoutMs) => {
      const chunk = queue.shift();
      if (chunk !== undefined) return chunk;
      if (end === 'timeout') throw new ReadTimeout(timeoutMs);
      return null;
    },
  };
}

interface Delivery {
  readonly envelope: SmtpEnvelope;
  readonly message: Buffer;
}

interface Conversation {
  /** Each hooks.send, as written. */
  readonly writes: string[];
  readonly deliveries: Delivery[];
}

async function converse(input: SessionInput, chunks: readonly Uint8Array[], afterTls: readonly Uint8Array[]) {
  const { config: c } = input;
  const config: SmtpSessionConfig = {
    hostname: 'mx.example.org',
    role: c.role,
    tls: c.tls,
    allowPlaintextAuth: c.allowPlaintextAuth,
    maxMessageBytes: c.maxMessageBytes,
    maxRecipients: MAX_RECIPIENTS,
    maxCommandLineBytes: MAX_COMMAND_LINE,
    commandTimeoutMs: 1000,
    dataTimeoutMs: 1000,
    maxErrors: c.maxErrors,
    realms: () => ['example.org'],
  };
  const known = await aliceCredentials();
  const result: Conversation = { writes: [], deliveries: [] };
  let penalties = 0;
  const hooks: SmtpSessionHooks = {
    send: (text) => {
      result.writes.push(text);
      if (result.writes.length === c.drainAt) session.drain();
    },
    startTls: async (): Promise<ByteSource | null> => (c.handshake ? source(afterTls, c.end) : null),
    // Alice with an exact compare for scrypt, anyone else an account whose every password is
    // wrong: scrypt at its real cost would be all the fuzzer measured.
    lookupCredentials: async (user) =>
      user === ALICE.address
        ? { ...known, verifyPassword: async (p: string) => p === ALICE.password }
        : { ...known, address: user, verifyPassword: async () => false },
    checkSender: async (_client, from) =>
      from.kind === 'mailbox' && from.mailbox.localPart === 'spammer'
        ? reply(550, '5.7.1', 'Sender refused')
        : undefined,
    postmasterDomain: async () => 'example.org',
    checkRecipient: async (_client, to) =>
      to.mailbox.localPart === 'nobody' ? reply(550, '5.1.1', 'User unknown') : undefined,
    deliver: async (_client, envelope, message) => {
      result.deliveries.push({ envelope, message: Buffer.from(message) });
      return c.deliverCode === 250
        ? reply(250, '2.0.0', 'Ok: queued as TEST')
        : reply(c.deliverCode, c.deliverCode === 451 ? '4.3.0' : '5.3.0', 'Not stored');
    },
    penalise: async () => {
      penalties++;
      return { delayMs: 0, disconnect: penalties === c.disconnectAt };
    },
  };
  const session: SmtpSession = new SmtpSession(config, hooks, source(chunks, c.end), '192.0.2.1');
  try {
    await session.run();
  } catch (err) {
    throw new Error(`property failed: the session threw: ${(err as Error).stack ?? String(err)}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Checking the replies

interface Reply {
  readonly code: number;
  readonly text: string;
}

const REPLY_LINE = /^([2-5][0-9][0-9])([ -])([\x20-\x7e]*)$/;

/** One write must be exactly one reply: lines of the same code, "-" but on the last. */
function readReply(write: string): Reply {
  ensure(write.endsWith('\r\n'), `a reply that does not end in CRLF: ${JSON.stringify(write.slice(-80))}`);
  const lines = write.slice(0, -2).split('\r\n');
  let code = 0;
  lines.forEach((line, i) => {
    ensure(
      Buffer.byteLength(line, 'utf8') + 2 <= 512,
      `a reply line over 512 octets (${line.length} characters)`,
    );
    const match = REPLY_LINE.exec(line);
    ensure(match, `an invalid reply line ${JSON.stringify(line.slice(0, 120))}`);
    const lineCode = Number(match[1]);
    if (i === 0) code = lineCode;
    ensure(lineCode === code, `a multiline reply changes code: ${JSON.stringify(write.slice(0, 200))}`);
    ensure(
      (match[2] === ' ') === (i === lines.length - 1),
      `a reply whose continuation marks are wrong: ${JSON.stringify(write.slice(0, 200))}`,
    );
  });
  return { code, text: write };
}

/** What the server reads of a DATA body (RFC 5321 §4.1.1.4, §4.5.2), line by line. */
type BodyRead = { kind: 'complete'; body: Buffer; end: number } | { kind: 'smuggling' } | { kind: 'eof' };

function readBody(bytes: Buffer, from: number): BodyRead {
  const lines: Buffer[] = [];
  let pos = from;
  for (;;) {
    let end = pos;
    while (end < bytes.length && bytes[end] !== CR && bytes[end] !== LF) end++;
    if (end >= bytes.length) return { kind: 'eof' };
    if (bytes[end] === LF) return { kind: 'smuggling' };
    if (end + 1 >= bytes.length) return { kind: 'eof' };
    if (bytes[end + 1] !== LF) return { kind: 'smuggling' };
    const line = bytes.subarray(pos, end);
    if (line.length === 1 && line[0] === DOT)
      return { kind: 'complete', body: Buffer.concat(lines), end: end + 2 };
    lines.push(line[0] === DOT ? line.subarray(1) : line, Buffer.from('\r\n'));
    pos = end + 2;
  }
}

/** The mail transaction as the replies so far say it stands. */
interface Model {
  mail: boolean;
  recipients: string[];
  /** BDAT chunks taken so far; null before the first. */
  chunks: Buffer[] | null;
  chunkFailed: boolean;
}

const fresh = (): Model => ({ mail: false, recipients: [], chunks: null, chunkFailed: false });

/**
 * Walks the client's bytes as the server must frame them, against the replies: each
 * command gets its reply in order, DATA bodies and AUTH turns are read only after their
 * 354 and 334, and deliveries happen where the model says a message may be accepted.
 * Returns why the session ended.
 */
function walk(input: SessionInput, run: Conversation): string {
  const replies = run.writes.map(readReply);
  ensure(replies[0]?.code === 220, 'no 220 greeting');
  let r = 1;
  let d = 0;
  let bytes = Buffer.concat(input.chunks);
  let pos = 0;
  let model = fresh();
  let tlsDone = false;
  // Refusals so far (session.ts counts them; past maxErrors the session says 421 and ends).
  let errors = 0;
  let penalties = 0;
  /** A refusal or a failed login: the penalty hook is asked, and may end the session. */
  const penalty = (): string | undefined => {
    penalties++;
    if (penalties !== input.config.disconnectAt) return undefined;
    const bye = next('a disconnecting penalty');
    ensure(bye.text.startsWith('421 4.7.0 '), `a disconnecting penalty answered ${bye.text}`);
    return ended('a disconnecting penalty');
  };
  const refused = (): string | undefined => {
    errors++;
    ensure(
      errors <= input.config.maxErrors,
      `${errors} refusals, maxErrors ${input.config.maxErrors}, no 421`,
    );
    return penalty();
  };
  const tooManyErrors = () => {
    ensure(
      errors === input.config.maxErrors,
      `421 after ${errors} refusals, maxErrors ${input.config.maxErrors}`,
    );
    return ended('421');
  };
  const next = (what: string): Reply => {
    const got = replies[r++];
    ensure(got, `no reply to ${what}`);
    return got;
  };
  /** The session ended here: nothing may follow. Says why, for a reader stepping through. */
  const ended = (why: string): string => {
    ensure(
      r === replies.length,
      `${replies.length - r} replies after ${why}: ${replies[r]?.text.slice(0, 80)}`,
    );
    ensure(d === run.deliveries.length, `${run.deliveries.length - d} deliveries without a 250 position`);
    return why;
  };
  /** The server waits for bytes that never come: the end, or 421 for a silent client. */
  const outOfBytes = (why: string): string => {
    if (input.config.end === 'timeout') {
      const timeout = next(`a silence (${why})`);
      ensure(
        timeout.code === 421 && timeout.text.startsWith('421 4.4.2 '),
        `a silence answered ${timeout.text}`,
      );
    }
    return ended(why);
  };
  /** A delivery happens here: the transaction must hold, the message be `body`. */
  const delivered = (body: Buffer, final: Reply) => {
    ensure(
      model.mail && model.recipients.length > 0,
      'a message delivered without MAIL and an accepted RCPT',
    );
    const delivery = run.deliveries[d++];
    ensure(delivery, `a message answered ${final.code} was never handed to deliver`);
    ensure(delivery.message.equals(body), 'the delivered message is not the body the client sent');
    const to = delivery.envelope.recipients.map((rcpt) => rcpt.address);
    ensure(
      JSON.stringify(to) === JSON.stringify(model.recipients),
      `delivered to ${JSON.stringify(to)}, accepted ${JSON.stringify(model.recipients)}`,
    );
    ensure(
      final.code === input.config.deliverCode,
      `deliver said ${input.config.deliverCode}, the client got ${final.code}`,
    );
  };
  for (;;) {
    // RFC 5321 §3.8: once draining, the session says 421 between transactions, reading nothing.
    if (input.config.drainAt !== null && r >= input.config.drainAt && !model.mail) {
      const shutdown = next('a shutdown');
      ensure(shutdown.text.startsWith('421 4.3.2 '), `a shutdown answered ${shutdown.text}`);
      return ended('a shutdown');
    }
    const lf = bytes.indexOf(LF, pos);
    if (lf < 0) return outOfBytes('the end of the client’s bytes');
    const lineEnd = lf > pos && bytes[lf - 1] === CR ? lf - 1 : lf;
    const line = bytes.subarray(pos, lineEnd).toString('utf8');
    const tooLong = lf + 1 - pos > MAX_COMMAND_LINE;
    pos = lf + 1;
    const parsed = tooLong ? undefined : parseCommand(line);
    if (parsed?.ok && parsed.command.verb === 'BDAT') {
      // Its octets are read whatever the answer (RFC 3030 §2), and the answer comes after them.
      if (bytes.length - pos < parsed.command.size) return outOfBytes('a BDAT chunk cut short');
    }
    const answer = next(`the command ${JSON.stringify(line.slice(0, 60))}`);
    if (answer.code === 421) return tooManyErrors();
    if (parsed === undefined) {
      ensure(answer.code === 500, `a line too long answered ${answer.code}`);
      const stop = refused();
      if (stop) return stop;
      continue;
    }
    if (!parsed.ok) {
      ensure(
        answer.code === parsed.reply.code,
        `a bad command answered ${answer.code}, not ${parsed.reply.code}`,
      );
      const stop = refused();
      if (stop) return stop;
      continue;
    }
    const command = parsed.command;
    ensure(answer.code !== 354 || command.verb === 'DATA', `354 to ${command.verb}`);
    ensure(answer.code !== 334 || command.verb === 'AUTH', `334 to ${command.verb}`);
    switch (command.verb) {
      case 'QUIT':
        ensure(answer.code === 221, `QUIT answered ${answer.code}`);
        return ended('221');
      case 'HELO':
      case 'EHLO':
      case 'RSET':
        if (answer.code === 250) model = fresh();
        break;
      case 'MAIL':
        if (answer.code === 250) {
          ensure(!model.mail, 'a second MAIL accepted in a transaction');
          model = { ...fresh(), mail: true };
        }
        break;
      case 'RCPT':
        if (answer.code === 250) {
          ensure(model.mail && model.chunks === null, 'RCPT accepted outside a transaction');
          ensure(model.recipients.length < MAX_RECIPIENTS, 'more recipients accepted than maxRecipients');
          model.recipients.push(
            command.to.kind === 'postmaster'
              ? 'postmaster@example.org'
              : `${command.to.mailbox.localPart}@${command.to.mailbox.domain}`,
          );
        }
        break;
      case 'DATA': {
        if (answer.code !== 354) {
          ensure(answer.code >= 500, `DATA answered ${answer.code}`);
          const stop = refused();
          if (stop) return stop;
          break;
        }
        ensure(
          model.mail && model.recipients.length > 0 && model.chunks === null,
          '354 without a transaction',
        );
        const read = readBody(bytes, pos);
        if (read.kind === 'eof') return outOfBytes('a body cut short');
        const final = next('a DATA body');
        if (read.kind === 'smuggling') {
          ensure(final.code === 550, `a bare CR or LF in DATA answered ${final.code}`);
          return ended('a smuggling refusal');
        }
        pos = read.end;
        if (read.body.length > input.config.maxMessageBytes) {
          ensure(final.code === 552, `a body over the limit answered ${final.code}`);
        } else if (read.body.includes(0)) {
          ensure(final.code === 550, `a body with NUL answered ${final.code}`);
        } else {
          delivered(read.body, final);
        }
        model = fresh();
        break;
      }
      case 'BDAT': {
        const final = answer;
        const chunk = bytes.subarray(pos, pos + command.size);
        pos += command.size;
        if (!model.mail || model.recipients.length === 0) {
          ensure(
            final.code === 503 || final.code === 554,
            `BDAT outside a transaction answered ${final.code}`,
          );
          const stop = refused();
          if (stop) return stop;
          break;
        }
        model.chunks ??= [];
        model.chunks.push(Buffer.from(chunk));
        const body = Buffer.concat(model.chunks);
        model.chunkFailed ||= body.length > input.config.maxMessageBytes || body.includes(0);
        if (model.chunkFailed) {
          ensure(final.code === 552 || final.code === 550, `a failed BDAT sequence answered ${final.code}`);
        } else if (command.last) {
          delivered(body, final);
        } else {
          ensure(final.code === 250, `a BDAT chunk answered ${final.code}`);
        }
        if (command.last) model = fresh();
        break;
      }
      case 'AUTH': {
        let turn = answer;
        while (turn.code === 334) {
          const alf = bytes.indexOf(LF, pos);
          if (alf < 0) return outOfBytes('an AUTH exchange cut short');
          const tooLongResponse = alf + 1 - pos > MAX_AUTH_LINE;
          pos = alf + 1;
          turn = next('an AUTH response');
          if (turn.code === 421) return tooManyErrors();
          if (tooLongResponse) ensure(turn.code === 501, `an AUTH response too long answered ${turn.code}`);
        }
        // A failed login (535, 454, malformed data) has the AUTH penalty but is no bad command.
        const failedLogin = turn.code === 535 || turn.code === 454 || turn.text.includes('Malformed');
        const stop = failedLogin ? penalty() : turn.code >= 500 ? refused() : undefined;
        if (stop) return stop;
        break;
      }
      case 'STARTTLS': {
        if (answer.code !== 220) break;
        if (!input.config.handshake) return ended('a failed handshake');
        ensure(!tlsDone, 'STARTTLS accepted twice');
        // RFC 3207 §4.2: whatever came in clear after STARTTLS is dropped, and all state.
        tlsDone = true;
        bytes = Buffer.concat(input.afterTls);
        pos = 0;
        model = fresh();
        break;
      }
      default:
        break;
    }
    // DATA, BDAT and AUTH count their refusals themselves: they end in other replies too.
    if (!['DATA', 'BDAT', 'AUTH'].includes(command.verb) && answer.code >= 500) {
      const stop = refused();
      if (stop) return stop;
    }
  }
}

/** CRAM-MD5, DIGEST-MD5 and SCRAM challenges carry a fresh nonce each time. */
const withoutChallenges = (writes: readonly string[]) =>
  writes.map((write) => (write.startsWith('334 ') ? '334 challenge\r\n' : write)).join('');

/** A port-25 session over `text` (UTF-8), in one chunk, that ends with the connection. */
function regression(text: string): SessionInput {
  return {
    config: {
      role: 'mx',
      tls: 'unavailable',
      allowPlaintextAuth: false,
      maxMessageBytes: 100_000,
      maxErrors: 20,
      handshake: false,
      deliverCode: 250,
      end: 'eof',
      drainAt: null,
      disconnectAt: null,
    },
    chunks: [new Uint8Array(Buffer.from(text, 'utf8'))],
    afterTls: [],
  };
}

const TRANSACTION = 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n';

export const target: FuzzTarget<SessionInput> = {
  name: 'smtp-session',
  covers:
    'SMTP server session: pipelined commands, DATA/BDAT, AUTH, STARTTLS; reply framing, one reply per command, deliveries, chunking',
  input,
  async check(session) {
    const run = await converse(session, session.chunks, session.afterTls);
    walk(session, run);
    // The same bytes in one piece: the same replies and deliveries.
    const whole = await converse(session, [Buffer.concat(session.chunks)], [Buffer.concat(session.afterTls)]);
    ensure(
      withoutChallenges(whole.writes) === withoutChallenges(run.writes),
      'the replies depend on how the bytes were split',
    );
    ensure(
      whole.deliveries.length === run.deliveries.length &&
        whole.deliveries.every((delivery, i) => delivery.message.equals(run.deliveries[i]!.message)),
      'the deliveries depend on how the bytes were split',
    );
  },
  // Replies that were not US-ASCII: the EHLO name echoed in U-labels, and a section sign.
  regressions: [
    regression('EHLO bücher.example\r\nQUIT\r\n'),
    regression(`${TRANSACTION}a\u0000b\r\n.\r\nQUIT\r\n`),
    regression(`${TRANSACTION}a\n.\nQUIT\r\n`),
  ],
};
