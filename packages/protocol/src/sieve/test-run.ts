// Test helpers: compile and run a script over a small message in one call.

import { compileSieve } from './compile-script.js';
import { runSieve } from './interpret.js';
import type { SieveAction, SieveCompileOptions, SieveInput, SieveResult } from './types.js';

export const SAMPLE_MESSAGE = [
  'Return-Path: <sender@example.com>',
  'Delivered-To: me@example.net',
  'From: Alice Example <alice@example.com>',
  'To: me@example.net, "Bob" <bob+lists@example.org>',
  'Cc: undisclosed-recipients:;',
  'Subject: =?UTF-8?B?SMOpbGxv?= world',
  'Date: Tue, 1 Apr 2025 10:20:30 +0200',
  'Message-ID: <abc@example.com>',
  'X-Spam-Score: 7',
  '',
  'Hello there, this is the body.',
  '',
].join('\r\n');

export function message(text: string = SAMPLE_MESSAGE): Uint8Array {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}

export function input(overrides: Partial<SieveInput> = {}): SieveInput {
  return {
    message: message(),
    envelope: { from: 'sender@example.com', to: 'me+tag@example.net' },
    environment: {
      domain: 'example.net',
      host: 'mx.example.net',
      location: 'MDA',
      name: 'Tegami',
      phase: 'during',
    },
    now: new Date('2025-04-01T12:00:00Z'),
    ownAddresses: ['me@example.net', 'me+tag@example.net'],
    ...overrides,
  };
}

export function run(
  script: string,
  overrides: Partial<SieveInput> = {},
  options?: SieveCompileOptions,
): SieveResult {
  return runSieve(compileSieve(script, options), input(overrides));
}

/** The actions as short strings, for readable expectations. */
export function summary(result: SieveResult): string[] {
  return result.actions.map(describeAction);
}

function describeAction(action: SieveAction): string {
  switch (action.type) {
    case 'keep':
      return `${action.implicit ? 'implicit ' : ''}keep${action.flags ? ` [${action.flags.join(' ')}]` : ''}`;
    case 'fileinto':
      return `fileinto ${action.mailbox}${action.flags ? ` [${action.flags.join(' ')}]` : ''}${action.copy ? ' :copy' : ''}${action.create ? ' :create' : ''}`;
    case 'redirect':
      return `redirect ${action.address}${action.copy ? ' :copy' : ''}`;
    case 'discard':
      return 'discard';
    case 'reject':
      return `${action.extended ? 'ereject' : 'reject'} ${action.reason}`;
    case 'vacation':
      return `vacation to ${action.to}`;
    case 'notify':
      return `notify ${action.method}`;
  }
}
