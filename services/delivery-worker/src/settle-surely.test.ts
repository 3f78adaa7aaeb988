import { describe, expect, it } from 'vitest';
import { settleSurely } from './settle-surely.js';

const outage = () => Object.assign(new Error('Connection terminated unexpectedly'), {});
const noSleep = async () => undefined;

describe('settleSurely', () => {
  it('writes again while the store is away, and returns what the write returned', async () => {
    let calls = 0;
    const result = await settleSurely(
      async () => {
        calls++;
        if (calls < 4) throw outage();
        return 'settled';
      },
      { sleep: noSleep },
    );
    expect(result).toBe('settled');
    expect(calls).toBe(4);
  });

  it('does not repeat a write that failed for another reason', async () => {
    let calls = 0;
    const bug = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    await expect(
      settleSurely(
        async () => {
          calls++;
          throw bug;
        },
        { sleep: noSleep },
      ),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it('gives up when the outage outlasts its patience', async () => {
    let calls = 0;
    await expect(
      settleSurely(
        async () => {
          calls++;
          throw outage();
        },
        { patienceMs: 0, sleep: noSleep },
      ),
    ).rejects.toThrow('Connection terminated');
    expect(calls).toBe(1);
  });
});
