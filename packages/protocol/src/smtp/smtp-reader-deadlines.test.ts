import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ByteSource, ReadTimeout } from './byte-source.js';
import { SmtpSession } from './session.js';
import type { SmtpSessionConfig } from './session-types.js';
import { SmtpReader } from './smtp-reader.js';

// Slow clients (issue 13): a line must be whole within its deadline however often bytes
// come, and a body must keep up the minimum rate. Fake timers drive the clock.

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A client that sends each piece `everyMs` after the previous one, as a socket would deliver it. */
function trickle(pieces: readonly string[], everyMs: number): ByteSource & { readonly sent: () => number } {
  const queue: Buffer[] = [];
  let waiter: (() => void) | undefined;
  let sent = 0;
  pieces.forEach((piece, i) => {
    setTimeout(
      () => {
        queue.push(Buffer.from(piece, 'latin1'));
        sent++;
        waiter?.();
      },
      everyMs * (i + 1),
    );
  });
  return {
    sent: () => sent,
    async read(timeoutMs) {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) return chunk;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new ReadTimeout(timeoutMs)), timeoutMs);
          waiter = () => {
            clearTimeout(timer);
            waiter = undefined;
            resolve();
          };
        });
      }
    },
  };
}

/** Settles `promise` while advancing the fake clock; how long it took on that clock. */
async function timed<T>(promise: Promise<T>): Promise<{ result: T | Error; ms: number }> {
  const started = Date.now();
  let outcome: { result: T | Error } | undefined;
  promise.then(
    (result) => {
      outcome = { result };
    },
    (err: Error) => {
      outcome = { result: err };
    },
  );
  while (!outcome) await vi.advanceTimersByTimeAsync(10);
  return { ...outcome, ms: Date.now() - started };
}

const LIMITS = { lineMs: 1_000, minBytesPerSecond: 100 };

describe('SmtpReader deadlines', () => {
  it('gives up on a line that trickles in, though every byte comes within the idle timeout', async () => {
    const source = trickle([...'NOOP\r\n'], 400);
    const reader = new SmtpReader(source, () => 10_000, LIMITS);
    const { result, ms } = await timed(reader.readLine(1000));
    expect(result).toBeInstanceOf(ReadTimeout);
    // The first byte came at 400 ms; the line had until 1400 ms.
    expect(ms).toBe(1_400);
    expect(source.sent()).toBe(3);
  });

  it('takes a line that is whole within the deadline, however long the wait for its first byte', async () => {
    const source = trickle(['', '', '', '', 'NO', 'OP', '\r\n'], 300);
    const reader = new SmtpReader(source, () => 10_000, LIMITS);
    const { result } = await timed(reader.readLine(1000));
    expect(result).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
  });

  it('without deadlines, only the idle timeout applies (each byte starts it again)', async () => {
    const reader = new SmtpReader(trickle([...'NOOP\r\n'], 400), () => 10_000);
    const { result, ms } = await timed(reader.readLine(1000));
    expect(result).toEqual({ kind: 'line', line: Buffer.from('NOOP') });
    expect(ms).toBe(2_400);
  });

  it('lets a body go on while it keeps up the minimum rate on average', async () => {
    // 50 octets every 400 ms is 125 octets per second: 100 are needed.
    const pieces = Array.from({ length: 60 }, () => `${'x'.repeat(48)}\r\n`);
    const reader = new SmtpReader(trickle([...pieces, '.\r\n'], 400), () => 2_000, LIMITS);
    const { result, ms } = await timed(reader.readData({ write: () => undefined }, 1_000_000));
    expect(result).toEqual({ kind: 'complete', size: 3_000 });
    expect(ms).toBe(61 * 400);
  });

  it('gives up on a body slower than the minimum rate, however regular its bytes', async () => {
    // 20 octets every 400 ms is 50 octets per second: the 2 s allowance drains by 200 ms
    // a piece and is gone after ten.
    const pieces = Array.from({ length: 60 }, () => `${'x'.repeat(18)}\r\n`);
    const source = trickle(pieces, 400);
    const reader = new SmtpReader(source, () => 2_000, LIMITS);
    const { result, ms } = await timed(reader.readData({ write: () => undefined }, 1_000_000));
    expect(result).toBeInstanceOf(ReadTimeout);
    expect(ms).toBeGreaterThanOrEqual(3_800);
    expect(ms).toBeLessThanOrEqual(4_400);
  });

  it('never lets a body bank more time than its allowance: a long stall after a fast start ends it', async () => {
    const source = trickle(['x'.repeat(100_000)], 10);
    const reader = new SmtpReader(source, () => 2_000, LIMITS);
    const { result, ms } = await timed(reader.readChunk(100_001, undefined));
    expect(result).toBeInstanceOf(ReadTimeout);
    expect(ms).toBe(2_010);
  });
});

describe('SmtpSession with deadlines', () => {
  it('says 421 4.4.2 and ends the session when a command line trickles in', async () => {
    const config: SmtpSessionConfig = {
      hostname: 'mx.example.org',
      role: 'mx',
      tls: 'unavailable',
      allowPlaintextAuth: false,
      maxMessageBytes: 10_000,
      maxRecipients: 3,
      maxCommandLineBytes: 1000,
      commandTimeoutMs: 10_000,
      dataTimeoutMs: 10_000,
      maxErrors: 10,
      realms: () => [],
      deadlines: LIMITS,
    };
    let output = '';
    const session = new SmtpSession(
      config,
      {
        send: (text) => {
          output += text;
        },
        startTls: async () => null,
        lookupCredentials: async () => undefined,
        checkSender: async () => undefined,
        postmasterDomain: async () => 'example.test',
        checkRecipient: async () => undefined,
        deliver: async () => {
          throw new Error('no message here');
        },
        penalise: async () => ({ delayMs: 0, disconnect: false }),
      },
      trickle(['EHLO a\r\n', ...'EHLO slow.example\r\n'], 300),
      '192.0.2.1',
    );
    const { ms } = await timed(session.run());
    expect(output).toMatch(
      /^220 .*\r\n250-mx\.example\.org Hello a .*421 4\.4\.2 mx\.example\.org Error: timeout exceeded\r\n$/s,
    );
    // The second line's first byte came at 600 ms.
    expect(ms).toBe(1_600);
  });
});
