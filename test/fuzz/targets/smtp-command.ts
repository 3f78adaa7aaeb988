import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { encodeXtext, parseCommand } from '../../../packages/protocol/src/smtp/command.js';
import type { SmtpMailbox } from '../../../packages/protocol/src/smtp/path.js';
import { serializeReply } from '../../../packages/protocol/src/smtp/reply.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, mutatedText } from '../mail-seeds.js';
import { anyCase, domain, mailbox, nasty } from '../protocol-grammar.js';

// The SMTP command parser (packages/protocol/src/smtp/command.ts and commands/*): one
// command line as the session hands it over, decoded as UTF-8. It never throws; what it
// refuses it answers with a valid 5xx reply; what it takes keeps its meaning when written
// again (paths round-trip, verbs are case-insensitive, trailing blanks do not count).

const mailParam = fc.oneof(
  fc.nat().map((n) => `SIZE=${n}`),
  fc.constantFrom('SIZE=', 'SIZE=-1', 'SIZE=99999999999999999999', 'SIZE=1e3'),
  fc.constantFrom('BODY=7BIT', 'BODY=8BITMIME', 'BODY=BINARYMIME', 'BODY=8bitmime', 'BODY=x'),
  fc.constantFrom('SMTPUTF8', 'smtputf8', 'SMTPUTF8=yes', 'REQUIRETLS', 'RET=FULL', 'RET=HDRS', 'RET=x'),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => `ENVID=${encodeXtext(s)}`),
  fc.constantFrom('ENVID=+ZZ', 'ENVID=+', 'AUTH=<>', 'AUTH=a+40b', 'X-UNKNOWN=1', '=', 'A=B=C'),
  mailbox.map((m) => `AUTH=${encodeXtext(m)}`),
);

const rcptParam = fc.oneof(
  fc.constantFrom(
    'NOTIFY=NEVER',
    'NOTIFY=SUCCESS,FAILURE,DELAY',
    'NOTIFY=NEVER,SUCCESS',
    'NOTIFY=',
    'NOTIFY=x',
  ),
  mailbox.map((m) => `ORCPT=rfc822;${encodeXtext(m)}`),
  fc.constantFrom('ORCPT=rfc822', 'ORCPT=;x', 'ORCPT=utf-8;a\\x{40}b', 'ORCPT=rfc822;+4', 'X=Y'),
);

const path = fc.oneof(
  { weight: 6, arbitrary: mailbox.map((m) => `<${m}>`) },
  { weight: 1, arbitrary: fc.tuple(domain, mailbox).map(([d, m]) => `<@${d},@${d}:${m}>`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('<>', '<Postmaster>', '<postmaster>', 'a@b', '<a@b', '<<a@b>>', '< a@b>'),
  },
);

const line = fc.oneof(
  fc
    .tuple(anyCase('MAIL FROM:'), path, fc.array(mailParam, { maxLength: 4 }))
    .map(([verb, p, params]) => [`${verb}${p}`, ...params].join(' ')),
  fc
    .tuple(anyCase('RCPT TO:'), path, fc.array(rcptParam, { maxLength: 3 }))
    .map(([verb, p, params]) => [`${verb}${p}`, ...params].join(' ')),
  fc.tuple(fc.constantFrom('HELO', 'EHLO'), fc.oneof(domain, nasty)).map(([verb, d]) => `${verb} ${d}`),
  fc
    .tuple(
      anyCase('BDAT'),
      fc.oneof(fc.nat().map(String), nasty),
      fc.constantFrom('', ' LAST', ' last', ' LAST x'),
    )
    .map(([verb, size, last]) => `${verb} ${size}${last}`),
  fc
    .tuple(
      anyCase('AUTH'),
      fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'X', ''),
      fc.oneof(
        fc.constant(''),
        fc.base64String().map((b) => ` ${b}`),
        fc.constantFrom(' =', ' ==', ' *'),
      ),
    )
    .map(([verb, mechanism, initial]) => `${verb} ${mechanism}${initial}`),
  fc
    .tuple(
      fc.constantFrom(
        'DATA',
        'RSET',
        'NOOP',
        'QUIT',
        'VRFY',
        'EXPN',
        'HELP',
        'STARTTLS',
        'XYZZY',
        'MAILFROM',
      ),
      fc.oneof(
        fc.constant(''),
        nasty.map((n) => ` ${n}`),
      ),
    )
    .map(([verb, rest]) => `${verb}${rest}`),
);

const SEEDS = [
  'MAIL FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME',
  'MAIL FROM:<> RET=HDRS ENVID=QQ314159',
  'RCPT TO:<"john doe"@[IPv6:2001:db8::1]> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;john+2Bdoe@example.org',
  'RCPT TO:<Postmaster>',
  'MAIL FROM:<用户@例子.广告> SMTPUTF8',
  'EHLO [192.0.2.1]',
  'BDAT 1000 LAST',
  'AUTH PLAIN AGFsaWNlAHBhc3N3b3Jk',
];

const input = fc.oneof(
  { weight: 5, arbitrary: line },
  { weight: 3, arbitrary: mutatedText(SEEDS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  // The session reads with a 1000-octet limit (512 with a 2 KiB allowance for extensions);
  // long lines still reach the parser as lines.
  {
    weight: 1,
    arbitrary: fc.tuple(line, fc.integer({ min: 200, max: 1200 })).map(([l, n]) => l + 'x'.repeat(n)),
  },
);

/** An SMTP reply on the wire: 3 digits, a separator, text without line ends, CRLF. */
const REPLY_LINE = /^[2-5][0-9][0-9][ -][^\r\n]*$/;
const ENHANCED = /^([245])\.[0-9]{1,3}\.[0-9]{1,3}$/;

function checkMailbox(line: string, mailbox: SmtpMailbox): void {
  // The mailbox's text is what the client wrote (an offset within the line).
  ensure(line.includes(mailbox.text), `mailbox text ${JSON.stringify(mailbox.text)} is not in the line`);
  ensure(
    Buffer.byteLength(mailbox.localPart) <= 64 || mailbox.localPart.startsWith('"'),
    'local part over 64 octets',
  );
  ensure(Buffer.byteLength(mailbox.domain) <= 255, 'domain over 255 octets');
  // Written again as a path, it reads back the same.
  const again = parseCommand(`RCPT TO:<${mailbox.text}>`);
  ensure(
    again.ok && again.command.verb === 'RCPT',
    `the mailbox ${JSON.stringify(mailbox.text)} does not parse again`,
  );
  const to = again.command.to;
  ensure(
    to.kind === 'mailbox' && isDeepStrictEqual(to.mailbox, mailbox),
    `the mailbox reads back differently: ${JSON.stringify(to)} vs ${JSON.stringify(mailbox)}`,
  );
}

export const target: FuzzTarget<string> = {
  name: 'smtp-command',
  covers: 'SMTP command lines: verbs, paths, MAIL/RCPT parameters, AUTH, BDAT (packages/protocol/src/smtp)',
  input,
  check(text) {
    const parsed = parseCommand(text);
    if (!parsed.ok) {
      ensure(parsed.reply.code >= 500 && parsed.reply.code < 600, `a refusal with code ${parsed.reply.code}`);
      const wire = serializeReply(parsed.reply);
      ensure(wire.endsWith('\r\n'), 'reply does not end in CRLF');
      for (const replyLine of wire.slice(0, -2).split('\r\n')) {
        ensure(REPLY_LINE.test(replyLine), `invalid reply line ${JSON.stringify(replyLine)}`);
      }
      const enhanced = parsed.reply.enhanced;
      ensure(
        enhanced === undefined || ENHANCED.exec(enhanced)?.[1] === '5',
        `enhanced code ${enhanced} for a 5xx`,
      );
    }
    // Verbs are case-insensitive, and trailing blanks are tolerated.
    const space = text.indexOf(' ');
    // ASCII only: toLowerCase would turn the Kelvin sign into a "k", making a verb of a non-verb.
    const lower = (verb: string) => verb.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const lowered = space < 0 ? lower(text) : lower(text.slice(0, space)) + text.slice(space);
    ensure(isDeepStrictEqual(parseCommand(lowered), parsed), 'a lower-case verb parses differently');
    ensure(isDeepStrictEqual(parseCommand(`${text} \t `), parsed), 'trailing blanks change the parse');
    if (!parsed.ok) return;
    const command = parsed.command;
    if (command.verb === 'MAIL' && command.from.kind === 'mailbox') checkMailbox(text, command.from.mailbox);
    if (command.verb === 'RCPT' && command.to.kind === 'mailbox') checkMailbox(text, command.to.mailbox);
    if (command.verb === 'BDAT') ensure(Number.isSafeInteger(command.size) && command.size >= 0, 'BDAT size');
  },
  regressions: ['', ' ', 'MAIL FROM:<@a:b@c>', 'RCPT TO:<"\\\u00e9"@x>', `EHLO ${'a'.repeat(2000)}`],
};
