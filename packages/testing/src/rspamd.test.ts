import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { claimRedisDatabase, redisCommand } from './redis-database.js';
import { rspamdInstalled, startTestRspamd } from './rspamd.js';

function ping(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${url}/ping`, { agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('error', (err) => resolve(`error: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    req.end();
  });
}

describe('Redis databases for tests', () => {
  it('gives tests side by side different databases, and flushes one when it is given back', async () => {
    const [a, b] = await Promise.all([claimRedisDatabase(), claimRedisDatabase()]);
    try {
      expect(a.database).not.toBe(b.database);
      expect(a.database).toBeGreaterThanOrEqual(1);
      await a.command('SET', 'some-key', 'x');
      expect(await redisCommand(a, b.database, ['EXISTS', 'some-key'])).toBe(0);
    } finally {
      await a.release();
      await b.release();
    }
    expect(await redisCommand(a, a.database, ['DBSIZE'])).toBe(0);
  });
});

describe.skipIf(!rspamdInstalled())(
  'a private rspamd for tests (needs /usr/bin/rspamd: apt-get install rspamd)',
  () => {
    it('answers on both ports, and stop() ends it, gives its Redis database back and removes its directory', async () => {
      const rspamd = await startTestRspamd();
      expect(await ping(rspamd.url)).toBe('pong');
      expect(await ping(rspamd.controllerUrl)).toBe('pong');
      expect((await rspamd.stat()).scanned).toBe(0);
      expect(rspamd.log()).toMatch(/rspamd 3\.\d+ is starting/);
      expect(existsSync(rspamd.dir)).toBe(true);
      const database = rspamd.redisDatabase;
      await rspamd.stop();
      expect(await ping(rspamd.url)).toBe('error: ECONNREFUSED');
      expect(await ping(rspamd.controllerUrl)).toBe('error: ECONNREFUSED');
      expect(existsSync(rspamd.dir)).toBe(false);
      expect(await redisCommand({ host: '127.0.0.1', port: 6379 }, database, ['DBSIZE'])).toBe(0);
      await rspamd.stop();
    }, 180_000);

    it('fails with rspamd’s log when it does not come up in time', async () => {
      const err = await startTestRspamd({ startTimeoutMs: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/rspamd did not start: rspamd did not answer on .* within 1 ms/);
      expect((err as Error).message).toContain('--- rspamd log ---');
    }, 60_000);
  },
);
