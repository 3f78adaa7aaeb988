import { compileSieve, type SieveInput } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { runSieveScripts } from './sieve-run.js';

const input: Omit<SieveInput, 'seenBefore'> = {
  message: Buffer.from(
    'From: <sam@origin.test>\r\nTo: <mia@sieve.test>\r\nSubject: hi\r\nMessage-ID: <1@origin.test>\r\n\r\nHello.\r\n',
  ),
  envelope: { from: 'sam@origin.test', to: 'mia@sieve.test' },
  environment: {},
  now: new Date('2024-05-01T10:00:00Z'),
  ownAddresses: ['mia@sieve.test'],
};
const nothingSeen = async () => new Set<string>();

describe('runSieveScripts', () => {
  it('asks the store about the ids `duplicate` tests reach, and runs again with the answers', async () => {
    const asked: string[][] = [];
    const outcome = await runSieveScripts(
      { before: null, personal: compileSieve('require "duplicate"; if duplicate { discard; stop; }') },
      input,
      async (keys) => {
        asked.push([...keys]);
        return new Set(keys);
      },
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]).toHaveLength(1);
    expect(outcome.actions).toEqual([{ type: 'discard' }]);
    expect(outcome.errors).toEqual([]);
  });

  it('records a first-seen id to mark, and keeps the message', async () => {
    const outcome = await runSieveScripts(
      { before: null, personal: compileSieve('require "duplicate"; if duplicate { discard; }') },
      input,
      nothingSeen,
    );
    expect(outcome.actions).toEqual([{ type: 'keep', flags: null, implicit: true }]);
    expect(outcome.duplicateMarks).toHaveLength(1);
  });

  it('adds up the fileintos of the before script and the user’s, the user’s implicit keep last', async () => {
    const outcome = await runSieveScripts(
      {
        before: compileSieve('require "fileinto"; if header :is "Subject" "hi" { fileinto "Seen"; }'),
        personal: compileSieve('require "fileinto"; fileinto "Personal";'),
      },
      input,
      nothingSeen,
    );
    expect(outcome.actions.map((a) => (a.type === 'fileinto' ? a.mailbox : a.type))).toEqual([
      'Seen',
      'Personal',
    ]);
  });

  it('keeps the user’s implicit keep only when the before script left its own standing', async () => {
    const personal = compileSieve('if false { discard; }');
    const cancelled = await runSieveScripts(
      { before: compileSieve('require "fileinto"; fileinto "Junk";'), personal },
      input,
      nothingSeen,
    );
    expect(cancelled.actions).toEqual([
      { type: 'fileinto', mailbox: 'Junk', flags: null, create: false, copy: false },
    ]);
    const standing = await runSieveScripts(
      { before: compileSieve('if false { discard; }'), personal },
      input,
      nothingSeen,
    );
    expect(standing.actions).toEqual([{ type: 'keep', flags: null, implicit: true }]);
  });

  it('runs the user’s script after a before script that failed, and says which failed', async () => {
    const outcome = await runSieveScripts(
      {
        // Compiled without its include targets, as ManageSieve checks a script: the missing
        // one is an error when the script runs (RFC 6609 §3.2).
        before: compileSieve('require "include"; include :global "missing";'),
        personal: compileSieve('require "fileinto"; fileinto "Personal";'),
      },
      input,
      nothingSeen,
    );
    expect(outcome.errors.map((e) => e.script)).toEqual(['before']);
    expect(outcome.actions.map((a) => a.type)).toEqual(['fileinto']);
  });

  it('runs the user’s script alone, and keeps the message when there is none', async () => {
    const alone = await runSieveScripts(
      { before: null, personal: compileSieve('require "fileinto"; fileinto "Personal";') },
      input,
      nothingSeen,
    );
    expect(alone.actions.map((a) => a.type)).toEqual(['fileinto']);
    const none = await runSieveScripts({ before: null, personal: null }, input, nothingSeen);
    expect(none.actions).toEqual([{ type: 'keep', flags: null, implicit: true }]);
  });
});
