import fc from 'fast-check';
import {
  credentials,
  type Harness,
  PASSWORD,
  start,
  USER,
} from '../../../packages/protocol/src/pop3/test-session.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedBytes } from '../mail-seeds.js';
import { anyCase, chunked, nasty, utf8 } from '../protocol-grammar.js';

// The POP3 reader and command parser (packages/protocol/src/pop3: line framer, command
// table, SASL turns) behind a whole session over a fake maildrop: whatever bytes come, in
// whatever chunks, every line gets a valid POP3 answer (+OK, -ERR, or a SASL "+ "
// continuation), the answers are whole CRLF lines, no command ends in the session's
// "internal error" (a thrown exception: a bug), and the chunking changes nothing.

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const number = fc.oneof(fc.integer({ min: 0, max: 5 }).map(String), nasty);

const commandLine = fc.oneof(
  fc.tuple(anyCase('USER'), fc.oneof(fc.constant(USER), nasty)).map(([c, u]) => `${c} ${u}`),
  fc.tuple(anyCase('PASS'), fc.oneof(fc.constant(PASSWORD), nasty)).map(([c, p]) => `${c} ${p}`),
  fc.constantFrom(`USER ${USER}\r\nPASS ${PASSWORD}`, `APOP ${USER} 0123456789abcdef0123456789abcdef`),
  fc
    .tuple(
      fc.constantFrom('AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5', 'AUTH SCRAM-SHA-256', 'AUTH', 'AUTH X'),
      fc.oneof(
        fc.constant(''),
        fc.constant(` ${b64(`\u0000${USER}\u0000${PASSWORD}`)}`),
        fc.constantFrom(' =', ' *', ' !!'),
        fc.string({ unit: 'binary', maxLength: 20 }).map((s) => ` ${b64(s)}`),
      ),
      fc.array(fc.oneof(fc.constantFrom('*', '=', '', b64(USER), b64(PASSWORD)), nasty), { maxLength: 3 }),
    )
    .map(([auth, initial, answers]) => [`${auth}${initial}`, ...answers].join('\r\n')),
  fc
    .tuple(
      fc.constantFrom(
        'STAT',
        'LIST',
        'RETR',
        'DELE',
        'UIDL',
        'TOP',
        'NOOP',
        'RSET',
        'CAPA',
        'UTF8',
        'LANG',
        'XYZ',
      ),
      fc.array(number, { maxLength: 3 }),
    )
    .map(([command, args]) => [command, ...args].join(' ')),
  fc.constantFrom('QUIT', 'STLS', '', ' ', 'LIST  1', 'TOP 1 99999999999', 'RETR 00001'),
);

const lineEnd = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n');

const session = fc
  .tuple(fc.array(fc.tuple(commandLine, lineEnd), { maxLength: 10 }), fc.boolean())
  .map(([lines, login]) => {
    const prefix = login ? `USER ${USER}\r\nPASS ${PASSWORD}\r\n` : '';
    return utf8(prefix + lines.map(([l, e]) => l + e).join(''));
  });

const SEEDS = [
  `USER ${USER}\r\nPASS ${PASSWORD}\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 1\r\nUIDL\r\nDELE 1\r\nRSET\r\nQUIT\r\n`,
  `AUTH PLAIN\r\n${b64(`\u0000${USER}\u0000${PASSWORD}`)}\r\nLIST 2\r\n`,
  'CAPA\r\nAUTH LOGIN\r\n*\r\nNOOP\r\n',
].map(utf8);

const input = chunked(
  fc.oneof(
    { weight: 3, arbitrary: session },
    { weight: 2, arbitrary: mutatedBytes(SEEDS, { base: session }) },
  ),
);

const INTERNAL_ERROR = 'internal error';
const STATUS = /^(\+OK|-ERR|\+ |\+$)/;

/** CRAM-MD5 and SCRAM challenges carry a fresh nonce each time. */
const withoutChallenges = (output: string) => output.replace(/^\+ .*$/gm, '+ challenge');

async function run(chunks: readonly Uint8Array[]): Promise<{ h: Harness; answers: string[] }> {
  // Unknown users cost a full scrypt run (so timing does not tell accounts apart): here they
  // are accounts whose every password is wrong, or the fuzzer would mostly wait on scrypt.
  const known = await credentials;
  const h = start({ loginDelaySeconds: 0 }, undefined, {
    lookupCredentials: async (user) =>
      user === USER ? known : { ...known, address: user, verifyPassword: async () => false },
  });
  // Where each line's answer starts and ends; cut once at the end. (A slice per line of the
  // growing output kept a flattened copy of all of it alive per line: 5,892 pipelined LISTs
  // took the heap past 512 MB, crashers/pop3-command/55f6bd8059b49f31.json.)
  const spans: [number, number][] = [];
  const handleLine = h.session.handleLine.bind(h.session);
  h.session.handleLine = async (line) => {
    const before = h.output().length;
    const action = await handleLine(line);
    spans.push([before, h.output().length]);
    return action;
  };
  for (const chunk of chunks) {
    if ((await h.session.receive(chunk)) === 'close') break;
  }
  const output = h.output();
  return { h, answers: spans.map(([from, to]) => output.slice(from, to)) };
}

export const target: FuzzTarget<Uint8Array[]> = {
  name: 'pop3-command',
  covers: 'POP3 line framer, command parser and SASL turns, through a session (packages/protocol/src/pop3)',
  input,
  async check(chunks) {
    const { h, answers } = await run(chunks);
    const output = h.output();
    ensure(!output.includes(INTERNAL_ERROR), 'a command ended in an internal error (an exception)');
    ensure(/^(?:[^\r\n]*\r\n)*$/.test(output), 'the output is not whole CRLF lines');
    for (const answer of answers) {
      if (answer === '') continue;
      ensure(STATUS.test(answer), `an answer that is no POP3 status: ${JSON.stringify(answer.slice(0, 80))}`);
    }
    // The same bytes in one piece: the same answers (but for the random SASL challenges).
    const whole = await run([Buffer.concat(chunks)]);
    ensure(
      withoutChallenges(whole.h.output()) === withoutChallenges(output),
      'the answers depend on how the bytes were split',
    );
  },
};
