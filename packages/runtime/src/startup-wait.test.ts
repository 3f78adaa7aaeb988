import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { untilAvailable } from './startup-wait.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const noSleep = async () => undefined;

describe('untilAvailable', () => {
  it('tries again while the dependency is away, and returns what the attempt gave', async () => {
    let tries = 0;
    const value = await untilAvailable(
      'Postgres',
      async () => {
        if (++tries < 3)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return 'pool';
      },
      { waitMs: 60_000, logger, sleep: noSleep },
    );
    expect(value).toBe('pool');
    expect(tries).toBe(3);
  });

  it('gives up with the last error once the wait is spent, at once with a wait of 0', async () => {
    let tries = 0;
    const refused = new Error('connection refused');
    await expect(
      untilAvailable(
        'NATS',
        async () => {
          tries++;
          throw refused;
        },
        { waitMs: 0, logger, sleep: noSleep },
      ),
    ).rejects.toBe(refused);
    expect(tries).toBe(1);
  });

  it('does not wait out a failure that will not pass', async () => {
    let tries = 0;
    const wrongSchema = new Error('the database schema is at version 3; run `tegami migrate`');
    await expect(
      untilAvailable(
        'Postgres',
        async () => {
          tries++;
          throw wrongSchema;
        },
        { waitMs: 60_000, logger, sleep: noSleep, transient: () => false },
      ),
    ).rejects.toBe(wrongSchema);
    expect(tries).toBe(1);
  });
});
