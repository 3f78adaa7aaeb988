import { describe, expect, it } from 'vitest';
import { chunksSource } from './byte-source.js';
import { SMTP_COMMAND_LABELS, SMTP_COMMANDS } from './command.js';
import { SmtpSession } from './session.js';
import type { SmtpSessionConfig, SmtpSessionHooks } from './session-types.js';

// The command table is the one list of SMTP commands: the parser, HELP, the metric labels
// and the state checks all read it.

const CONFIG: SmtpSessionConfig = {
  hostname: 'mx.example.org',
  role: 'mx',
  tls: 'unavailable',
  allowPlaintextAuth: false,
  maxMessageBytes: 10_000,
  maxRecipients: 3,
  maxCommandLineBytes: 1000,
  commandTimeoutMs: 1000,
  dataTimeoutMs: 1000,
  maxErrors: 10,
  realms: () => ['example.org'],
};

async function converse(input: string) {
  let output = '';
  const done: [string, string][] = [];
  const hooks: SmtpSessionHooks = {
    send: (text) => {
      output += text;
    },
    startTls: async () => null,
    lookupCredentials: async () => undefined,
    checkSender: async () => undefined,
    postmasterDomain: async () => 'example.org',
    checkRecipient: async () => undefined,
    deliver: async () => ({ code: 250, enhanced: '2.0.0', lines: ['Ok'] }),
    penalise: async () => ({ delayMs: 0, disconnect: false }),
    commandDone: (verb, result) => done.push([verb, result]),
  };
  await new SmtpSession(CONFIG, hooks, chunksSource([input]), '192.0.2.1').run();
  return { output, done };
}

describe('the SMTP command table', () => {
  it('names each verb once, and labels metrics with its verbs and INVALID', () => {
    const verbs = SMTP_COMMANDS.map((command) => command.verb);
    expect(new Set(verbs).size).toBe(verbs.length);
    expect(SMTP_COMMAND_LABELS).toEqual([...verbs, 'INVALID']);
  });

  it('reports each command with its verb and the class of its reply', async () => {
    const { done } = await converse(
      'EHLO c.example\r\nMAIL FROM:<>\r\nRCPT TO:<x>\r\nFROB\r\nRSET\r\nQUIT\r\n',
    );
    expect(done).toEqual([
      ['EHLO', '2xx'],
      ['MAIL', '2xx'],
      ['RCPT', '5xx'],
      ['INVALID', '5xx'],
      ['RSET', '2xx'],
      ['QUIT', '2xx'],
    ]);
  });

  it('refuses a command outside the states it is valid in, with its own 503', async () => {
    const { output } = await converse('RCPT TO:<a@example.org>\r\nDATA\r\nMAIL FROM:<>\r\nQUIT\r\n');
    expect(output.split('\r\n').slice(1, 4)).toEqual([
      '503 5.5.1 Error: need MAIL command',
      '503 5.5.1 Error: need MAIL command',
      '503 5.5.1 Error: send HELO/EHLO first',
    ]);
  });

  it('lists in HELP the commands of the table that can succeed', async () => {
    const { output } = await converse('HELP\r\nQUIT\r\n');
    expect(output).toContain(
      '214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n',
    );
  });
});
