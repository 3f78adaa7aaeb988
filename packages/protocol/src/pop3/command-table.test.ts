import { describe, expect, it } from 'vitest';
import { POP3_COMMAND_LABELS, POP3_COMMANDS } from './commands/table.js';
import { loggedIn, start } from './test-session.js';

// The command table is the one list of POP3 commands: the dispatcher's state check, CAPA
// and the metric labels all read it.

describe('the POP3 command table', () => {
  it('names each verb once, and labels metrics with its verbs, INVALID and OTHER', () => {
    const verbs = POP3_COMMANDS.map((command) => command.verb);
    expect(new Set(verbs).size).toBe(verbs.length);
    expect(POP3_COMMAND_LABELS).toEqual([...verbs, 'INVALID', 'OTHER']);
  });

  it('reports each command with its verb: INVALID for no command line, OTHER for an unknown one', async () => {
    const done: [string, string][] = [];
    const h = await loggedIn({}, undefined, { commandDone: (verb, status) => done.push([verb, status]) });
    await h.say('STAT', 'RETR 9', 'XYZZ', 'BOGUS', 'USER bob', 'QUIT');
    expect(done.slice(-6)).toEqual([
      ['STAT', 'ok'],
      ['RETR', 'err'],
      ['OTHER', 'err'],
      ['INVALID', 'err'],
      ['USER', 'err'],
      ['QUIT', 'ok'],
    ]);
  });

  it('answers in UPDATE that the session is over, and closes', async () => {
    const h = start();
    // A service that read on after QUIT in TRANSACTION: only the dispatcher stands between.
    await h.say('USER alice@example.org', 'PASS tanstaaftanstaaf', 'QUIT');
    expect(await h.say('NOOP')).toBe('-ERR the session is over\r\n');
    expect(h.actions.at(-1)).toBe('close');
  });
});
