import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PASSWORD as IMAP_PASSWORD, USER as IMAP_USER, startImap } from './imap/test-account.js';
import { type InputDeadlines, SessionDeadlines, TransferDeadline } from './input-deadline.js';
import { PASSWORD, start, USER } from './pop3/test-session.js';

// Slow clients (issue 13): what a POP3 or IMAP session tells the service about its
// deadlines as bytes trickle in. The service (protocol-server) closes the connection with
// the goodbye when `at` passes; here the fake clock stands still between steps.

const DEADLINES: InputDeadlines = { lineMs: 1_000, minBytesPerSecond: 100, loginMs: 5_000 };

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const T0 = 1_000_000;
const later = (ms: number) => vi.advanceTimersByTime(ms);

describe('TransferDeadline', () => {
  it('a line has a fixed deadline, whatever arrives', () => {
    const line = new TransferDeadline(T0, 1_000);
    line.received(1_000_000, T0 + 500);
    expect(line.at).toBe(T0 + 1_000);
  });

  it('a body earns 1/rate seconds an octet, and never banks more than its allowance', () => {
    const body = new TransferDeadline(T0, 2_000, 100);
    body.received(50, T0 + 1_000);
    expect(body.at).toBe(T0 + 2_500);
    // However much comes, at most the allowance ahead of now.
    body.received(10_000, T0 + 1_100);
    expect(body.at).toBe(T0 + 3_100);
  });
});

describe('SessionDeadlines', () => {
  it('stands for logging in until the client has logged in', () => {
    const deadlines = new SessionDeadlines(DEADLINES);
    expect(deadlines.next()).toEqual({ at: T0 + 5_000, reason: 'login', why: 'no login within 5 seconds' });
    deadlines.loggedIn();
    expect(deadlines.next()).toBeUndefined();
  });

  it('times a line from its first byte and keeps that time while the same line goes on', () => {
    const deadlines = new SessionDeadlines(DEADLINES);
    deadlines.loggedIn();
    later(300);
    deadlines.observe({ kind: 'line', unit: 7 });
    later(600);
    deadlines.observe({ kind: 'line', unit: 7 });
    expect(deadlines.next()).toMatchObject({ at: T0 + 1_300, reason: 'line' });
    // The next line has its own.
    deadlines.observe({ kind: 'line', unit: 8 });
    expect(deadlines.next()).toMatchObject({ at: T0 + 1_900 });
    // Nothing unfinished (or the session busy with a command): no deadline.
    deadlines.observe(undefined);
    expect(deadlines.next()).toBeUndefined();
  });

  it('credits a literal for what arrived since it was last looked at', () => {
    const deadlines = new SessionDeadlines(DEADLINES);
    deadlines.loggedIn();
    deadlines.observe({ kind: 'literal', unit: 1, received: 0 });
    later(500);
    deadlines.observe({ kind: 'literal', unit: 1, received: 20 });
    expect(deadlines.next()).toMatchObject({ at: T0 + 1_200, reason: 'literal' });
    later(500);
    deadlines.observe({ kind: 'literal', unit: 1, received: 40 });
    expect(deadlines.next()).toMatchObject({ at: T0 + 1_400 });
  });

  it('answers the earlier of the login and the line deadline', () => {
    const deadlines = new SessionDeadlines(DEADLINES);
    later(4_500);
    deadlines.observe({ kind: 'line', unit: 0 });
    expect(deadlines.next()).toMatchObject({ at: T0 + 5_000, reason: 'login' });
  });

  it('has none without settings', () => {
    const deadlines = new SessionDeadlines(undefined);
    deadlines.observe({ kind: 'line', unit: 0 });
    expect(deadlines.next()).toBeUndefined();
  });
});

describe('IMAP session deadlines', () => {
  it('a line that trickles in keeps the deadline of its first byte; a whole line clears it', async () => {
    const h = startImap({ deadlines: DEADLINES });
    expect(h.session.inputDeadline()).toEqual({
      at: T0 + 5_000,
      goodbye: '* BYE timeout: no login within 5 seconds\r\n',
    });
    later(100);
    await h.feed('a NO');
    later(400);
    await h.feed('O');
    expect(h.session.inputDeadline()).toEqual({
      at: T0 + 1_100,
      goodbye: '* BYE timeout: the command line took over 1 seconds\r\n',
    });
    expect(await h.feed('P\r\n')).toBe('a OK NOOP completed\r\n');
    expect(h.session.inputDeadline()?.at).toBe(T0 + 5_000);
  });

  it('after login: no deadline while idle or in IDLE, a literal earns time at the minimum rate', async () => {
    const h = startImap({ deadlines: DEADLINES });
    await h.say(`a LOGIN ${IMAP_USER} ${IMAP_PASSWORD}`);
    expect(h.session.inputDeadline()).toBeUndefined();
    await h.say('b SELECT INBOX');
    expect(await h.say('c IDLE')).toMatch(/^\+ idling/);
    later(60_000);
    expect(h.session.inputDeadline()).toBeUndefined();
    await h.feed('DO');
    expect(h.session.inputDeadline()?.at).toBe(Date.now() + 1_000);
    await h.feed('NE\r\n');
    expect(h.session.inputDeadline()).toBeUndefined();

    expect(await h.feed('d APPEND INBOX {300}\r\n')).toBe('+ Ready for literal data\r\n');
    const begun = Date.now();
    expect(h.session.inputDeadline()).toEqual({
      at: begun + 1_000,
      goodbye: '* BYE timeout: the literal came slower than 100 octets per second\r\n',
    });
    later(500);
    await h.feed('x'.repeat(30));
    expect(h.session.inputDeadline()?.at).toBe(begun + 1_300);
  });
});

describe('POP3 session deadlines', () => {
  it('times a command line from its first byte, and logging in from the start', async () => {
    const h = start({ deadlines: DEADLINES });
    expect(h.session.inputDeadline()).toEqual({
      at: T0 + 5_000,
      goodbye: '-ERR timeout: no login within 5 seconds\r\n',
    });
    later(200);
    await h.feed('US');
    later(700);
    await h.feed('ER ');
    expect(h.session.inputDeadline()).toEqual({
      at: T0 + 1_200,
      goodbye: '-ERR timeout: the command line took over 1 seconds\r\n',
    });
    await h.feed(`${USER}\r\n`);
    expect(h.session.inputDeadline()?.at).toBe(T0 + 5_000);
    await h.feed(`PASS ${PASSWORD}\r\n`);
    expect(h.session.state).toBe('transaction');
    expect(h.session.inputDeadline()).toBeUndefined();
  });
});
