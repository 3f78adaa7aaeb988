import { afterEach, describe, expect, it } from 'vitest';
import { type ImapHarness, loggedIn, MemoryMailStore, messageOf, startImap } from '../test-account.js';
import { DeflatePeer } from '../test-deflate-peer.js';

// COMPRESS=DEFLATE (RFC 4978) through the engine: the client's side is a real zlib raw
// DEFLATE stream (test-deflate-peer.ts), so what is asserted is what a client would read.

const peers: DeflatePeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.close();
});

/** A logged-in session (INBOX selected with `select`) that has turned COMPRESS on. */
async function compressed(store?: MemoryMailStore, select?: string) {
  const h = await loggedIn({}, store, select);
  expect(await h.say('z COMPRESS DEFLATE')).toBe('z OK DEFLATE active\r\n');
  const peer = new DeflatePeer();
  peers.push(peer);
  return { h, peer, ...talk(h, peer) };
}

function talk(h: ImapHarness, peer: DeflatePeer) {
  let read = h.output().length;
  /** Everything the server sent since the last call, decompressed. */
  const received = () => {
    const out = h.output();
    const bytes = Buffer.from(out.slice(read), 'latin1');
    read = out.length;
    return peer.decompress(bytes);
  };
  return {
    received,
    /** Sends text compressed; what the server answered, decompressed. */
    async send(text: string): Promise<string> {
      await h.session.receive(await peer.compress(text));
      return received();
    },
  };
}

/** Waits (a few seconds at most) until `check` says yes about what came since. */
async function until(received: () => Promise<string>, check: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 200; i++) {
    text += await received();
    if (check(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never came: ${JSON.stringify(text)}`);
}

describe('COMPRESS (RFC 4978)', () => {
  it('is offered only after login, as Dovecot does', async () => {
    const h = startImap();
    expect(await h.say('a CAPABILITY')).not.toContain('COMPRESS');
    expect(await h.say('b COMPRESS DEFLATE')).toBe('b BAD log in first\r\n');
    const l = await loggedIn();
    expect(await l.say('c CAPABILITY')).toContain(' COMPRESS=DEFLATE');
  });

  it('answers OK in clear, then both directions are raw DEFLATE', async () => {
    const { h, send } = await compressed();
    expect(h.session.compressed).toBe(true);
    expect(await send('n NOOP\r\n')).toBe('n OK NOOP completed\r\n');
    expect(await send('c CAPABILITY\r\n')).toMatch(
      /^\* CAPABILITY .*COMPRESS=DEFLATE.*\r\nc OK CAPABILITY completed\r\n$/,
    );
    // Nothing in clear after the OK: the raw output is not the text.
    expect(h.output()).not.toContain('NOOP completed');
  });

  it('inflates what the client pipelined right behind COMPRESS', async () => {
    const h = await loggedIn();
    const peer = new DeflatePeer();
    peers.push(peer);
    const before = h.output().length;
    await h.session.receive(
      Buffer.concat([Buffer.from('z COMPRESS DEFLATE\r\n'), await peer.compress('n NOOP\r\n')]),
    );
    const out = h.output().slice(before);
    const clear = 'z OK DEFLATE active\r\n';
    expect(out.startsWith(clear)).toBe(true);
    expect(await peer.decompress(Buffer.from(out.slice(clear.length), 'latin1'))).toBe(
      'n OK NOOP completed\r\n',
    );
  });

  it('refuses a second COMPRESS with NO [COMPRESSIONACTIVE], compressed', async () => {
    const { send } = await compressed();
    expect(await send('y COMPRESS DEFLATE\r\n')).toBe('y NO [COMPRESSIONACTIVE] DEFLATE is on already\r\n');
    expect(await send('n NOOP\r\n')).toBe('n OK NOOP completed\r\n');
  });

  it('answers an unknown algorithm or a malformed command BAD, and stays in clear', async () => {
    const h = await loggedIn();
    expect(await h.say('a COMPRESS LZW')).toBe('a BAD unknown compression mechanism\r\n');
    expect(await h.say('b COMPRESS')).toBe('b BAD COMPRESS needs one compression mechanism\r\n');
    expect(await h.say('c COMPRESS "DEFLATE"')).toBe('c BAD COMPRESS needs one compression mechanism\r\n');
    expect(await h.say('d COMPRESS DEFLATE DEFLATE')).toBe(
      'd BAD COMPRESS needs one compression mechanism\r\n',
    );
    expect(h.session.compressed).toBe(false);
    expect(await h.say('e compress deflate')).toBe('e OK DEFLATE active\r\n');
  });

  it('takes APPEND with a synchronising literal and FETCHes it back', async () => {
    const { send } = await compressed(undefined, 'INBOX');
    const message = messageOf(4).toString('latin1');
    expect(await send(`a APPEND INBOX {${message.length}}\r\n`)).toBe('+ Ready for literal data\r\n');
    expect(await send(`${message}\r\n`)).toMatch(
      /^\* 4 EXISTS\r\n\* 4 RECENT\r\na OK \[APPENDUID \d+ 4\] APPEND completed\r\n$/,
    );
    const fetched = await send('f UID FETCH 4 BODY.PEEK[]\r\n');
    expect(fetched).toContain(`BODY[] {${message.length}}\r\n${message})\r\n`);
    expect(fetched).toMatch(/f OK UID FETCH completed\r\n$/);
  });

  it('holds the command size limit against the decompressed stream', async () => {
    const { send } = await compressed();
    // 5 MB of one line compress to a few KiB; the limit (1000 octets here) sees the 5 MB.
    const answer = await send(`x NOOP ${'a'.repeat(5_000_000)}\r\nn NOOP\r\n`);
    expect(answer).toBe('x BAD [TOOBIG] the command is larger than 1000 octets\r\nn OK NOOP completed\r\n');
  });

  it('refuses an over-long literal as it does in clear', async () => {
    const { send } = await compressed(undefined, 'INBOX');
    expect(await send('a APPEND INBOX {20000}\r\n')).toBe(
      'a NO [TOOBIG] the message is larger than 10000 octets\r\n',
    );
    expect(await send('n NOOP\r\n')).toBe('n OK NOOP completed\r\n');
  });

  it('pushes IDLE news at once, flushed, with no command from the client', async () => {
    const store = MemoryMailStore.withMessages();
    const { send, received } = await compressed(store, 'INBOX');
    const other = await loggedIn({}, store, 'INBOX');
    expect(await send('i IDLE\r\n')).toBe('+ idling\r\n');
    await other.say(`b APPEND INBOX {${messageOf(4).length}+}`, messageOf(4).toString('latin1'));
    expect(await until(received, (text) => text.includes('RECENT'))).toBe('* 4 EXISTS\r\n* 4 RECENT\r\n');
    expect(await send('DONE\r\n')).toBe('i OK IDLE terminated\r\n');
  });

  it('closes with BYE on input that is not DEFLATE, and tells the service', async () => {
    const failures: unknown[] = [];
    const h = startImap({}, undefined, { compressedInputFailed: (err) => failures.push(err) });
    await h.say('l LOGIN alice@example.org tanstaaftanstaaf');
    expect(await h.say('z COMPRESS DEFLATE')).toBe('z OK DEFLATE active\r\n');
    const peer = new DeflatePeer();
    peers.push(peer);
    const { received } = talk(h, peer);
    // Block type 3 does not exist in DEFLATE (RFC 1951 §3.2.3).
    await h.feed(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(h.actions.at(-1)).toBe('close');
    expect(await received()).toBe('* BYE invalid compressed data\r\n');
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/invalid compressed input/);
    expect(await h.feed('more')).toBe('');
    expect(h.actions.at(-1)).toBe('close');
  });

  it('writes the service goodbye through the DEFLATE layer, and not before it is on', async () => {
    const l = await loggedIn();
    expect(l.session.sayGoodbye('* BYE timeout\r\n')).toBe(undefined);
    const { h, received } = await compressed();
    await h.session.sayGoodbye('* BYE autologout\r\n');
    expect(await received()).toBe('* BYE autologout\r\n');
  });

  it('stays on after UNAUTHENTICATE, and STARTTLS is then refused', async () => {
    const { send } = await compressed();
    expect(await send('u UNAUTHENTICATE\r\n')).toBe('u OK UNAUTHENTICATE completed\r\n');
    const caps = await send('c CAPABILITY\r\n');
    expect(caps).not.toContain('STARTTLS');
    expect(caps).not.toContain('COMPRESS');
    expect(await send('s STARTTLS\r\n')).toBe('s BAD STARTTLS is not possible once COMPRESS is on\r\n');
    expect(await send('l LOGIN alice@example.org tanstaaftanstaaf\r\n')).toMatch(/^l OK /);
    expect(await send('y COMPRESS DEFLATE\r\n')).toBe('y NO [COMPRESSIONACTIVE] DEFLATE is on already\r\n');
  });
});
