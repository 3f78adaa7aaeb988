import { afterEach, describe, expect, it, vi } from 'vitest';
import { ALICE_PLAIN, loggedIn, MemoryScripts, start } from './test-session.js';

// What one client may cost: a command line, a literal (a script), the scripts it keeps,
// failed logins (session-auth.test.ts), and the time it takes to send a command or log in.

describe('the limits of a ManageSieve session', () => {
  it('closes the connection on a command line over the limit', async () => {
    const h = start({ maxLineLength: 200 });
    expect(await h.feed(`NOOP "${'x'.repeat(300)}"\r\nNOOP\r\n`)).toBe(
      'BYE "command line longer than 200 octets"\r\n',
    );
    expect(h.actions).toEqual(['close']);
  });

  it('skips a script over the size limit and answers QUOTA/MAXSIZE, then goes on', async () => {
    const h = await loggedIn({ maxScriptBytes: 100 });
    const big = `# ${'x'.repeat(120)}\r\nkeep;\r\n`;
    expect(await h.feed(`PUTSCRIPT "big" {${big.length}+}\r\n${big}\r\n`)).toBe(
      'NO (QUOTA/MAXSIZE) "scripts may be 100 octets at most"\r\n',
    );
    expect(await h.feed(`CHECKSCRIPT {${big.length}+}\r\n`, big, '\r\n')).toBe(
      'NO (QUOTA/MAXSIZE) "scripts may be 100 octets at most"\r\n',
    );
    expect(h.scripts.scripts.size).toBe(0);
    expect(await h.feed('PUTSCRIPT "small" "keep;"\r\n')).toBe('OK "Putscript completed"\r\n');
  });

  it('holds literals before login to the line limit: a script cannot be sent before it', async () => {
    const h = start({ maxLineLength: 200, maxScriptBytes: 100_000 });
    expect(await h.feed(`NOOP {1000+}\r\n${'x'.repeat(1000)}\r\n`)).toBe(
      'NO "literals may be 200 octets at most"\r\n',
    );
    expect(await h.feed('NOOP\r\n')).toBe('OK "Done"\r\n');
  });

  it('refuses a new script past the number the user may keep, but replaces one', async () => {
    const h = await loggedIn({}, new MemoryScripts(2));
    expect(await h.feed('PUTSCRIPT "a" "keep;"\r\nPUTSCRIPT "b" "keep;"\r\n')).toBe(
      'OK "Putscript completed"\r\nOK "Putscript completed"\r\n',
    );
    expect(await h.feed('PUTSCRIPT "c" "keep;"\r\n')).toBe(
      'NO (QUOTA/MAXSCRIPTS) "you have as many scripts as you may keep"\r\n',
    );
    expect(await h.feed('PUTSCRIPT "b" "discard;"\r\n')).toBe('OK "Putscript completed"\r\n');
    expect([...h.scripts.scripts]).toEqual([
      ['a', 'keep;'],
      ['b', 'discard;'],
    ]);
  });

  describe('deadlines', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const deadlines = { loginMs: 60_000, lineMs: 30_000, minBytesPerSecond: 100 };

    it('gives the client a minute to log in, and says so when it runs out', async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const h = start({ deadlines, plaintextAllowed: true });
      expect(h.session.inputDeadline()).toEqual({
        at: 1_060_000,
        goodbye: 'BYE "timeout: no login within 60 seconds"\r\n',
      });
      await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`);
      expect(h.session.inputDeadline()).toBeUndefined();
    });

    it('holds a command line begun to its deadline, however slowly it trickles in', async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const h = await loggedIn({ deadlines });
      await h.feed('NOOP "');
      expect(h.session.inputDeadline()).toEqual({
        at: 1_030_000,
        goodbye: 'BYE "timeout: the command line took over 30 seconds"\r\n',
      });
      vi.setSystemTime(1_020_000);
      await h.feed('x');
      expect(h.session.inputDeadline()?.at).toBe(1_030_000);
      await h.feed('"\r\n');
      expect(h.session.inputDeadline()).toBeUndefined();
    });

    it('holds a script to a minimum rate while it arrives', async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const h = await loggedIn({ deadlines });
      await h.feed('PUTSCRIPT "slow" {5000+}\r\n');
      expect(h.session.inputDeadline()).toEqual({
        at: 1_030_000,
        goodbye: 'BYE "timeout: the literal came slower than 100 octets per second"\r\n',
      });
    });
  });
});
