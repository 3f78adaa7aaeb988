import { describe, expect, it } from 'vitest';
import { ImapCommandReader } from '../command-reader.js';
import type { ImapToken } from '../command-tokens.js';
import { bad } from './command-spec.js';
import { parseNotify } from './notify-arguments.js';

// NOTIFY's grammar (RFC 5465 §8), from the bytes a client sends to the typed request.

function args(line: string): readonly ImapToken[] {
  const reader = new ImapCommandReader();
  reader.push(Buffer.from(`a NOTIFY${line ? ` ${line}` : ''}\r\n`));
  const event = reader.next();
  if (event?.kind !== 'command') throw new Error(`not a command: ${JSON.stringify(event)}`);
  return event.command.args;
}

const parse = (line: string) => parseNotify(args(line));

describe('NOTIFY arguments (RFC 5465 §8)', () => {
  it('reads NOTIFY NONE', () => {
    expect(parse('NONE')).toEqual({ kind: 'none' });
    expect(parse('none')).toEqual({ kind: 'none' });
  });

  it('reads the RFC 5465 §3.1 example, with the STATUS indicator', () => {
    expect(
      parse(
        'SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) ' +
          '(subtree Lists (MessageNew MessageExpunge))',
      ),
    ).toMatchObject({
      kind: 'set',
      status: true,
      groups: [
        { filter: { kind: 'selected' }, events: ['MessageNew', 'MessageExpunge'], fetch: { type: 'list' } },
        { filter: { kind: 'subtree', names: ['Lists'] }, events: ['MessageNew', 'MessageExpunge'] },
      ],
    });
    expect(parse('SET (selected MessageNew (uid) MessageExpunge)')).toEqual(
      bad('an event group is (filter events)'),
    );
    const request = parse(
      'SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge)) (SUBTREE Lists (MessageNew MessageExpunge MailboxName))',
    );
    expect(request).toEqual({
      kind: 'set',
      status: true,
      groups: [
        {
          filter: { kind: 'selected' },
          events: ['MessageNew', 'MessageExpunge'],
          unknown: [],
          fetch: {
            type: 'list',
            items: [
              { type: 'atom', value: 'UID' },
              { type: 'atom', value: 'FLAGS' },
            ],
          },
        },
        {
          filter: { kind: 'subtree', names: ['Lists'] },
          events: ['MessageNew', 'MessageExpunge', 'MailboxName'],
          unknown: [],
        },
      ],
    });
  });

  it('reads every filter, mailbox lists, quoted names and NONE for events', () => {
    expect(
      parse(
        '(selected-delayed NONE) (inboxes (MessageNew MessageExpunge)) (personal (MailboxName)) ' +
          '(subscribed (SubscriptionChange)) (mailboxes ("Work" INBOX) (FlagChange MessageNew MessageExpunge))',
      ),
    ).toEqual(bad('NOTIFY needs SET or NONE'));
    expect(
      parse(
        'SET (selected-delayed NONE) (inboxes (MessageNew MessageExpunge)) (personal (MailboxName)) ' +
          '(subscribed (SubscriptionChange)) (mailboxes ("Work" INBOX) (FlagChange MessageNew MessageExpunge))',
      ),
    ).toEqual({
      kind: 'set',
      status: false,
      groups: [
        { filter: { kind: 'selected-delayed' }, events: [], unknown: [] },
        { filter: { kind: 'inboxes' }, events: ['MessageNew', 'MessageExpunge'], unknown: [] },
        { filter: { kind: 'personal' }, events: ['MailboxName'], unknown: [] },
        { filter: { kind: 'subscribed' }, events: ['SubscriptionChange'], unknown: [] },
        {
          filter: { kind: 'mailboxes', names: ['Work', 'INBOX'] },
          events: ['FlagChange', 'MessageNew', 'MessageExpunge'],
          unknown: [],
        },
      ],
    });
  });

  it('keeps events it does not offer and unknown event names for the handler to refuse with BADEVENT', () => {
    expect(parse('SET (personal (MessageNew MessageExpunge AnnotationChange XFuture))')).toEqual({
      kind: 'set',
      status: false,
      groups: [
        {
          filter: { kind: 'personal' },
          events: ['MessageNew', 'MessageExpunge', 'AnnotationChange'],
          unknown: ['XFuture'],
        },
      ],
    });
  });

  it('answers BAD for what the grammar does not allow', () => {
    for (const line of [
      '',
      'SET',
      'SET STATUS',
      'RESET',
      'NONE (selected NONE)',
      'SET selected',
      'SET ()',
      'SET (selected)',
      'SET (anywhere (MessageNew MessageExpunge))',
      'SET (selected ())',
      'SET (selected MessageNew)',
      'SET (subtree (MessageNew MessageExpunge))',
      'SET (subtree () (MessageNew MessageExpunge))',
      'SET (personal ("MessageNew"))',
      'SET (personal (MessageNew MessageExpunge) extra)',
      // Two selected filters.
      'SET (selected NONE) (selected-delayed (MessageNew MessageExpunge))',
      // MessageNew and MessageExpunge go together; FlagChange needs both.
      'SET (personal (MessageNew))',
      'SET (personal (MessageExpunge))',
      'SET (personal (FlagChange))',
      'SET (selected (FlagChange MailboxName))',
      // Fetch attributes only for the selected mailbox, and only valid ones.
      'SET (personal (MessageNew (UID) MessageExpunge))',
      'SET (selected (MessageNew (NOSUCHITEM) MessageExpunge))',
      'SET (selected (MessageNew () MessageExpunge))',
    ]) {
      const result = parse(line);
      expect(result, line).toHaveProperty('status', 'BAD');
    }
  });
});
