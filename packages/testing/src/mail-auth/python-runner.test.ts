import { describe, expect, it } from 'vitest';
import { independentMailAuth, runIndependent } from './python-runner.js';

const tools = independentMailAuth();
const skipNote = tools.available ? '' : ` (skipped: ${tools.reason})`;

describe.skipIf(!tools.available)(`running dkimpy and pyspf${skipNote}`, () => {
  it('finds a python3 that imports dkimpy and pyspf', () => {
    expect(tools).toMatchObject({ available: true, python: expect.stringMatching(/python3$/) });
  });

  it('kills a run that passes its timeout and says so', async () => {
    // Python does not even import dkimpy within 1 ms: the run is killed, not awaited.
    await expect(runIndependent({ op: 'zone-lookup', zone: {}, queries: [] }, 1)).rejects.toThrow(
      /zone-lookup: dkimpy\/pyspf did not answer within 1 ms/,
    );
  });

  it('rejects an unknown operation with the reason, and a failing one with Python’s error', async () => {
    await expect(runIndependent({ op: 'frobnicate' })).rejects.toThrow(/frobnicate: unknown operation/);
    await expect(runIndependent({ op: 'dkim-verify' })).rejects.toThrow(
      /dkim-verify: python exited with 1[\s\S]*KeyError/,
    );
  });
});
