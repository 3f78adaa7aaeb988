import { describe, expect, it } from 'vitest';
import { loggedIn, PASSWORD, startImap, USER } from './test-account.js';

// How the session answers a command over its size limit (issue 13: memory before login).
// The test harness's default command size after login is 1000 octets; before login the
// session's own 8 KiB applies.

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const BYE = '* BYE too much input before login\r\n';

describe('IMAP command size before login', () => {
  it('the attack of issue 13 (LOGIN, then 64 KiB LITERAL+ literals): BAD [TOOBIG], BYE, closed', async () => {
    const h = startImap({ maxCommandSize: undefined });
    const literal = Buffer.concat([
      Buffer.from('{65536+}\r\n'),
      Buffer.alloc(65_536, 0x61),
      Buffer.from(' '),
    ]);
    const out = await h.feed(Buffer.concat([Buffer.from('bomb LOGIN '), literal, literal]));
    expect(out).toBe(`bomb BAD [TOOBIG] the command is larger than 8192 octets\r\n${BYE}`);
    expect(h.actions).toEqual(['close']);
    // Whatever comes after is not read.
    expect(await h.feed(literal)).toBe('');
  });

  it('a non-synchronising literal over 4096 octets breaks LITERAL-: BAD [TOOBIG], BYE, closed', async () => {
    const h = startImap();
    expect(await h.feed(`a LOGIN ${USER} {4097+}\r\n`)).toBe(
      `a BAD [TOOBIG] a non-synchronizing literal holds at most 4096 octets here (LITERAL-)\r\n${BYE}`,
    );
    expect(h.actions).toEqual(['close']);
  });

  it('takes a LITERAL- literal of 4096 octets', async () => {
    const h = startImap();
    expect(await h.feed(`a LOGIN ${USER} {4096+}\r\n${'p'.repeat(4096)}\r\n`)).toBe(
      'a NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    expect(await h.feed(`b LOGIN ${USER} {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`)).toMatch(/^b OK /);
  });

  it('a synchronising literal too big is refused before it is sent, and the session goes on', async () => {
    const h = startImap();
    expect(await h.say(`a LOGIN ${USER} {8200}`)).toBe(
      'a BAD [TOOBIG] the command is larger than 8192 octets\r\n',
    );
    expect(await h.say(`b LOGIN ${USER} ${PASSWORD}`)).toMatch(/^b OK /);
  });

  it('reads a command of exactly 8192 octets, literal included, and refuses 8193', async () => {
    // `a LOGIN user {n}` CRLF, n octets, CRLF.
    const head = (n: number) => `a LOGIN ${USER} {${n}}\r\n`;
    const n = 8192 - head(8000).length - 2;
    expect(head(n).length + n + 2).toBe(8192);
    const exact = startImap();
    expect(await exact.feed(head(n))).toBe('+ Ready for literal data\r\n');
    expect(await exact.feed(`${'p'.repeat(n)}\r\n`)).toBe(
      'a NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    const over = startImap();
    expect(await over.feed(head(n + 1))).toBe('a BAD [TOOBIG] the command is larger than 8192 octets\r\n');
    expect(over.actions).toEqual(['continue']);
  });

  it('a command line over 8 KiB: BAD [TOOBIG], BYE, closed', async () => {
    const h = startImap();
    expect(await h.feed(`a1 ID ("name" "${'x'.repeat(8200)}")`)).toBe(
      `a1 BAD [TOOBIG] the command is larger than 8192 octets\r\n${BYE}`,
    );
    expect(h.actions).toEqual(['close']);
  });

  it('a SASL response over 8 KiB: BAD [TOOBIG], BYE, closed', async () => {
    const h = startImap();
    expect(await h.say('a AUTHENTICATE PLAIN')).toBe('+ \r\n');
    expect(await h.feed(b64('x'.repeat(7000)))).toBe(`a BAD [TOOBIG] response too long\r\n${BYE}`);
    expect(h.actions.at(-1)).toBe('close');
  });
});

describe('IMAP command size after login', () => {
  it('every command but APPEND is held to the command size, literals included', async () => {
    const h = await loggedIn({ maxCommandSize: 2000 }, undefined, 'INBOX');
    expect(await h.say('a SEARCH TEXT {1990}')).toBe(
      'a BAD [TOOBIG] the command is larger than 2000 octets\r\n',
    );
    expect(await h.say('b SEARCH TEXT {1970}')).toBe('+ Ready for literal data\r\n');
    expect(await h.say('x'.repeat(1970))).toMatch(/^\* SEARCH\r\nb OK /);
    expect(await h.say(`c NOOP ${'x'.repeat(2000)}`)).toBe(
      'c BAD [TOOBIG] the command is larger than 2000 octets\r\n',
    );
    expect(h.session.state).toBe('selected');
  });

  it('a non-synchronising literal too big is read and thrown away, and the session goes on', async () => {
    const h = await loggedIn({ maxCommandSize: 2000 });
    expect(await h.feed(`a SEARCH TEXT {5000+}\r\n${'x'.repeat(5000)} TEXT {3+}\r\nabc\r\nb NOOP\r\n`)).toBe(
      'a BAD [TOOBIG] the command is larger than 2000 octets\r\nb OK NOOP completed\r\n',
    );
    expect(h.actions.every((a) => a === 'continue')).toBe(true);
  });

  it('APPEND takes a message up to APPENDLIMIT, however small the command size', async () => {
    const h = await loggedIn({ maxCommandSize: 1000, maxMessageSize: 10_000 });
    const message = `Subject: big\r\n\r\n${'b'.repeat(9000)}\r\n`;
    expect(await h.feed(`a APPEND INBOX {${message.length}+}\r\n${message}\r\n`)).toMatch(
      /^a OK \[APPENDUID /,
    );
    expect(await h.say('b APPEND INBOX {10001}')).toBe(
      'b NO [TOOBIG] the message is larger than 10000 octets\r\n',
    );
  });
});
