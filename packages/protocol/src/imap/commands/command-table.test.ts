import { describe, expect, it } from 'vitest';
import {
  capabilityList,
  commandNames,
  IMAP_COMMAND_NAMES,
  IMAP_METRIC_LABELS,
  metricLabels,
} from '../dispatcher.js';
import { DEFAULT_OPTIONS, loggedIn, startImap } from '../test-account.js';
import { bad, type CapabilityView, defineCommand, type ImapContext, LOGGED_IN, ok } from './command-spec.js';
import { IMAP_COMMANDS } from './index.js';

const view = (state: CapabilityView['state']): CapabilityView => ({
  state,
  options: DEFAULT_OPTIONS,
  tls: 'starttls',
  plaintextOk: false,
  mechanisms: ['SCRAM-SHA-256'],
});

describe('the IMAP command table', () => {
  it('names every command once, in upper case, with the states it is valid in', () => {
    const names = IMAP_COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const command of IMAP_COMMANDS) {
      expect(command.name).toBe(command.name.toUpperCase());
      expect(command.states.length).toBeGreaterThan(0);
    }
  });

  it('derives the known commands and the metric labels from the table', () => {
    for (const { name, uid } of IMAP_COMMANDS) {
      expect(IMAP_COMMAND_NAMES.has(name)).toBe(true);
      expect(IMAP_METRIC_LABELS.has(name)).toBe(true);
      expect(IMAP_METRIC_LABELS.has(`UID ${name}`)).toBe(uid === true);
    }
    expect([...IMAP_COMMAND_NAMES].sort()).toEqual([...IMAP_COMMANDS.map((c) => c.name), 'UID'].sort());
    // What the service counted before the table existed, and the commands added since.
    expect([...IMAP_METRIC_LABELS].sort()).toEqual(
      [
        'CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN ENABLE ID NAMESPACE SELECT EXAMINE CREATE DELETE',
        'RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB STATUS APPEND CHECK CLOSE UNSELECT EXPUNGE SEARCH FETCH STORE',
        'COPY MOVE IDLE INVALID',
        // QUOTA (RFC 9208, issue 18).
        'GETQUOTA GETQUOTAROOT SETQUOTA UNAUTHENTICATE',
        // SORT and THREAD (RFC 5256).
        'SORT THREAD',
        // COMPRESS=DEFLATE (RFC 4978).
        'COMPRESS',
        // REPLACE (RFC 8508).
        'REPLACE',
        // METADATA (RFC 5464).
        'GETMETADATA SETMETADATA',
        // NOTIFY (RFC 5465).
        'NOTIFY',
        // ACL (RFC 4314).
        'SETACL DELETEACL GETACL LISTRIGHTS MYRIGHTS',
      ]
        .join(' ')
        .split(' ')
        .concat([
          'UID FETCH',
          'UID STORE',
          'UID SEARCH',
          'UID COPY',
          'UID MOVE',
          'UID EXPUNGE',
          'UID REPLACE',
          'UID SORT',
          'UID THREAD',
        ])
        .sort(),
    );
  });

  it('derives CAPABILITY from what each command adds, state by state', () => {
    expect(capabilityList(view('not-authenticated')).join(' ')).toBe(
      'IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256',
    );
    expect(capabilityList(view('authenticated')).join(' ')).toBe(
      'IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE CREATE-SPECIAL-USE STATUS=SIZE OBJECTID UNSELECT UIDPLUS MOVE CHILDREN ' +
        'SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES WITHIN SAVEDATE SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES BINARY PREVIEW APPENDLIMIT=10000 MULTIAPPEND CATENATE REPLACE UTF8=ACCEPT CONDSTORE QRESYNC NOTIFY QUOTA QUOTA=RES-STORAGE METADATA METADATA-SERVER ACL RIGHTS=texk UNAUTHENTICATE COMPRESS=DEFLATE',
    );
  });

  it('refuses a command outside its states by the state it needs', async () => {
    const h = startImap();
    expect(await h.say('a1 SELECT INBOX')).toBe('a1 BAD log in first\r\n');
    expect(await h.say('a2 XYZZY')).toBe('a2 BAD unknown command\r\n');
    const l = await loggedIn();
    expect(await l.say('b1 FETCH 1 FLAGS')).toBe('b1 BAD no mailbox selected\r\n');
    expect(await l.say('b2 UID FETCH 1 FLAGS')).toBe('b2 BAD no mailbox selected\r\n');
    expect(await l.say('b3 LOGIN a b')).toBe('b3 BAD already authenticated\r\n');
    expect(await l.say('b4 SELECT INBOX')).toMatch(/^b4 OK /m);
    expect(await l.say('b5 UID XYZZY 1')).toBe('b5 BAD unknown UID command\r\n');
  });

  it('reports LOGIN as LOGIN to the service, though PLAIN checks it, and AUTHENTICATE by its mechanism', async () => {
    const failed: string[] = [];
    const h = startImap({}, undefined, { authFailed: (mechanism) => void failed.push(mechanism) });
    expect(await h.say('a1 LOGIN alice@example.org wrong')).toBe(
      'a1 NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    const plain = Buffer.from('\u0000alice@example.org\u0000wrong').toString('base64');
    expect(await h.say(`a2 AUTHENTICATE PLAIN ${plain}`)).toBe(
      'a2 NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    expect(failed).toEqual(['LOGIN', 'PLAIN']);
  });

  it('takes a new command as one definition and one row (docs/architecture/imap-commands.md)', async () => {
    // A command as the next issue's will land: its module exports defineCommand({...}),
    // and the table gets its row; the known list, CAPABILITY and metric labels follow.
    const xecho = defineCommand({
      name: 'XECHO',
      states: LOGGED_IN,
      capabilities: (v) => ({ now: v.state === 'not-authenticated' ? [] : ['XECHO'] }),
      parse: (args) =>
        args.length === 1 && args[0]!.type === 'atom' ? args[0]!.value : bad('XECHO needs a word'),
      async handle(word, context) {
        await context.write(`* XECHO ${word}\r\n`);
        return ok('XECHO completed');
      },
    });
    const table = [...IMAP_COMMANDS, xecho];
    expect(commandNames(table).has('XECHO')).toBe(true);
    expect(metricLabels(table).has('XECHO')).toBe(true);
    expect(capabilityList(view('authenticated'), table).at(-1)).toBe('XECHO');
    expect(capabilityList(view('not-authenticated'), table)).not.toContain('XECHO');
    const written: unknown[] = [];
    const context = { write: async (chunk: unknown) => void written.push(chunk) } as unknown as ImapContext;
    const form = { tag: 'a1', uid: false };
    expect(await xecho.run([{ type: 'atom', value: 'hello' }], context, form)).toEqual(ok('XECHO completed'));
    expect(written).toEqual(['* XECHO hello\r\n']);
    expect(await xecho.run([], context, form)).toEqual(bad('XECHO needs a word'));
  });
});
