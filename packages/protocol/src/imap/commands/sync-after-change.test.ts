import { describe, expect, it } from 'vitest';
import type { SelectedMailbox, ViewUpdate } from '../selected-mailbox.js';
import { syncAfterChange } from './sync-after-change.js';

const outage = () => Object.assign(new Error('Connection terminated unexpectedly'));
const noSleep = async () => undefined;

/** A selected mailbox whose sync fails `failures` times, then gives `update`. */
function mailbox(failures: number, update: ViewUpdate, error = outage) {
  let calls = 0;
  const box = {
    dirty: false,
    async sync() {
      if (calls++ < failures) throw error();
      return update;
    },
  };
  return { box, selected: box as unknown as SelectedMailbox, calls: () => calls };
}

const UPDATE = { vanished: [4] } as unknown as ViewUpdate;

describe('the sync after a committed EXPUNGE or MOVE', () => {
  it('waits out a short outage and gives the news', async () => {
    const m = mailbox(3, UPDATE);
    expect(await syncAfterChange(m.selected, { sleep: noSleep })).toBe(UPDATE);
    expect(m.calls()).toBe(4);
    expect(m.box.dirty).toBe(false);
  });

  it('gives up on a long one without failing the command: the view stays dirty for the next', async () => {
    const m = mailbox(1000, UPDATE);
    expect(await syncAfterChange(m.selected, { patienceMs: 0, sleep: noSleep })).toBeUndefined();
    expect(m.box.dirty).toBe(true);
  });

  it('lets a bug through (it is no outage)', async () => {
    const m = mailbox(1, UPDATE, () => new TypeError('x is undefined'));
    await expect(syncAfterChange(m.selected, { sleep: noSleep })).rejects.toThrow(TypeError);
  });
});
