import { describe, expect, it } from 'vitest';
import { formatDuration, progress } from './progress.js';

/** A clock the test moves, and what the progress wrote. */
function harness(tty: boolean, total?: number) {
  let time = 1_000_000;
  const lines: string[] = [];
  const drawn: string[] = [];
  const p = progress({
    label: 'imported',
    unit: 'messages',
    total,
    say: (line) => lines.push(line),
    terminal: tty ? { write: (text) => drawn.push(text), columns: 200 } : null,
    now: () => time,
  });
  return {
    p,
    lines,
    drawn,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe('progress', () => {
  it('redraws a terminal at most ten times a second, however fast the work ticks', () => {
    const h = harness(true, 1000);
    for (let i = 0; i < 1000; i++) {
      h.p.tick(1, 1024);
      h.advance(2); // 1,000 ticks in two seconds
    }
    // The first tick draws, then one per 100 ms.
    expect(h.drawn.length).toBe(20);
    expect(h.lines).toEqual([]);
    expect(h.drawn.at(-1)).toMatch(
      /^\rimported \[#+-*\] 95\d\/1000 messages \(95%\) {2}95\dK {2}\d+ messages\/s {2}\d+K\/s {2}ETA 0\.\ds\W\[K$/,
    );
  });

  it('shows a bar, the count, the bytes, the rate and the time left', () => {
    const h = harness(true, 400);
    h.p.tick(0);
    h.advance(2000);
    h.p.tick(100, 100 * 10240);
    expect(h.drawn.at(-1)).toBe(
      '\rimported [#####---------------] 100/400 messages (25%)  1000K  50 messages/s  500K/s  ETA 6.0s\u001b[K',
    );
  });

  it('writes a plain line every few seconds without a terminal, and never a carriage return', () => {
    const h = harness(false);
    h.p.setDetail('INBOX');
    for (let i = 0; i < 12; i++) {
      h.advance(1000);
      h.p.tick(10);
    }
    expect(h.drawn).toEqual([]);
    expect(h.lines).toEqual([
      'imported 50 messages, 10 messages/s, INBOX',
      'imported 100 messages, 10 messages/s, INBOX',
    ]);
  });

  it('clears the bar and ends with one summary line', () => {
    const h = harness(true, 3);
    h.p.tick(1, 2048);
    h.p.tick(2, 2048);
    h.advance(4000);
    expect(h.p.done()).toBe('imported 3 messages (4K) in 4.0s: 0.8 messages/s, 1K/s');
    expect(h.drawn.at(-1)).toBe('\r\u001b[K');
    expect(h.lines).toEqual(['imported 3 messages (4K) in 4.0s: 0.8 messages/s, 1K/s']);
    // A second done (a finally block after the normal path) says nothing more.
    h.p.done();
    h.p.fail();
    expect(h.lines).toHaveLength(1);
  });

  it('says how far a stopped command came', () => {
    const h = harness(false, 10);
    h.p.update(4);
    h.advance(2000);
    expect(h.p.fail()).toBe('imported 4 of 10 messages in 2.0s: 2.0 messages/s (stopped)');
  });

  it('keeps a note apart from the bar', () => {
    const h = harness(true);
    h.p.tick();
    h.p.note('tegami: INBOX held other messages');
    expect(h.drawn.slice(-2)).toEqual(['\r\u001b[K', '\rimported 1 messages\u001b[K']);
    expect(h.lines).toEqual(['tegami: INBOX held other messages']);
  });

  it('prints durations as a person reads them', () => {
    expect([400, 12_300, 245_000, 7_620_000].map(formatDuration)).toEqual(['0.4s', '12s', '4m05s', '2h07m']);
  });
});
