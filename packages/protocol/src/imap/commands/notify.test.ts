import { describe, expect, it } from 'vitest';
import type { MailboxNotifications } from '../mailbox-notifications.js';
import { NotifyDelivery } from '../notify-delivery.js';
import type { AccountEvent } from '../session-types.js';
import { loggedIn, MemoryMailStore, messageOf, startImap } from '../test-account.js';
import type { ImapContext } from './command-spec.js';

// NOTIFY (RFC 5465) through the engine, over the in-memory store: one session asks, another
// (or delivery) changes the account, and the first is told unasked, between commands and
// in IDLE.

function store(): MemoryMailStore {
  return new MemoryMailStore(['INBOX', ['Sent', '\\Sent'], 'Lists', 'Lists/ietf']);
}

const UIDVALIDITY = /UIDVALIDITY \d+/g;

async function pair(select = 'INBOX') {
  const s = store();
  const watcher = await loggedIn({}, s, select);
  const actor = await loggedIn({}, s);
  return { s, watcher, actor };
}

describe('NOTIFY (RFC 5465)', () => {
  it('advertises NOTIFY after login only', async () => {
    expect(await startImap().say('a CAPABILITY')).not.toMatch(/NOTIFY/);
    expect(await startImap().say('a NOTIFY NONE')).toBe('a BAD log in first\r\n');
    expect(await (await loggedIn()).say('b CAPABILITY')).toMatch(/ NOTIFY[ \r]/);
  });

  it('sends STATUS for a mailbox another session appends to, between commands', async () => {
    const { watcher, actor } = await pair();
    expect(await watcher.say('n NOTIFY SET (personal (MessageNew MessageExpunge))')).toBe(
      'n OK NOTIFY completed\r\n',
    );
    expect(await actor.feed(`a APPEND Sent {${messageOf(1).length}+}\r\n`, messageOf(1), '\r\n')).toMatch(
      /^a OK \[APPENDUID/,
    );
    expect((await watcher.settle()).replace(UIDVALIDITY, 'UIDVALIDITY v')).toBe(
      '* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n',
    );
    // Not for the session's own changes, nor for the selected mailbox (EXISTS tells that).
    await watcher.feed(`b APPEND Sent {${messageOf(2).length}+}\r\n`, messageOf(2), '\r\n');
    expect(await watcher.settle()).toBe('');
  });

  it('adds HIGHESTMODSEQ once CONDSTORE is on, and tells flag changes when asked', async () => {
    const { watcher, actor } = await pair();
    await watcher.say('e ENABLE CONDSTORE');
    await watcher.say('n NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge FlagChange))');
    actor.store.deliver('Lists', messageOf(1));
    expect((await watcher.settle()).replace(UIDVALIDITY, 'UIDVALIDITY v')).toMatch(
      /^\* STATUS "Lists" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1 HIGHESTMODSEQ \d+\)\r\n$/,
    );
    actor.store.setFlags('Lists', [1], 'add', ['\\Seen']);
    expect(await watcher.settle()).toMatch(/^\* STATUS "Lists" \(MESSAGES 1 .* HIGHESTMODSEQ \d+\)\r\n$/);
    // Lists/ietf is not named by MAILBOXES (SUBTREE would take it).
    actor.store.deliver('Lists/ietf', messageOf(1));
    expect(await watcher.settle()).toBe('');
  });

  it('matches SUBTREE, INBOXES and SUBSCRIBED filters; the first filter that matches decides', async () => {
    const { s, watcher } = await pair('Sent');
    await watcher.say(
      'n NOTIFY SET (mailboxes "Lists/ietf" NONE) (subtree Lists (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge))',
    );
    s.deliver('Lists/ietf', messageOf(1));
    s.deliver('Lists', messageOf(1));
    s.deliver('INBOX', messageOf(9));
    expect((await watcher.settle()).replace(UIDVALIDITY, 'UIDVALIDITY v')).toBe(
      '* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n' +
        '* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY v UNSEEN 1)\r\n',
    );
    await watcher.say('u UNSUBSCRIBE Lists');
    await watcher.say('n NOTIFY SET (subscribed (MessageNew MessageExpunge))');
    s.deliver('Lists', messageOf(2));
    s.deliver('INBOX', messageOf(2));
    expect(await watcher.settle()).toMatch(/^\* STATUS "INBOX" \(MESSAGES 2 /);
  });

  it('sends LIST for mailboxes created, renamed (OLDNAME), deleted and (un)subscribed elsewhere', async () => {
    const { watcher, actor } = await pair();
    await watcher.say('n NOTIFY SET (personal (MailboxName SubscriptionChange))');
    await actor.say('a CREATE Projects');
    expect(await watcher.settle()).toBe('* LIST () "/" "Projects"\r\n');
    await actor.say('b RENAME Lists Archive');
    expect(await watcher.settle()).toBe(
      '* LIST () "/" "Archive" ("OLDNAME" ("Lists"))\r\n' +
        '* LIST () "/" "Archive/ietf" ("OLDNAME" ("Lists/ietf"))\r\n',
    );
    await actor.say('c DELETE Projects');
    expect(await watcher.settle()).toBe('* LIST (\\NonExistent) "/" "Projects"\r\n');
    // A parent stays as \Noselect for its children.
    await actor.say('c DELETE Archive');
    expect(await watcher.settle()).toBe('* LIST (\\Noselect) "/" "Archive"\r\n');
    await actor.say('d UNSUBSCRIBE Sent');
    await actor.say('e SUBSCRIBE Sent');
    expect(await watcher.settle()).toBe('* LIST () "/" "Sent"\r\n* LIST (\\Subscribed) "/" "Sent"\r\n');
    // MailboxName alone: subscriptions are not told.
    await watcher.say('n NOTIFY SET (personal (MailboxName))');
    await actor.say('f UNSUBSCRIBE Sent');
    expect(await watcher.settle()).toBe('');
  });

  it('tells the selected mailbox EXISTS, FETCH and EXPUNGE at once with SELECTED, without IDLE', async () => {
    const { s, watcher } = await pair();
    await watcher.say('n NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))');
    s.deliver('INBOX', messageOf(1), { flags: ['$Important'] });
    const pushed = await watcher.settle();
    expect(pushed).toMatch(/\* 1 EXISTS\r\n/);
    expect(pushed).toMatch(/\* 1 FETCH \(UID 1 FLAGS \(\$Important( \\Recent)?\)\)\r\n$/);
    s.setFlags('INBOX', [1], 'add', ['\\Flagged']);
    expect(await watcher.settle()).toMatch(/^\* 1 FETCH \(UID 1 FLAGS \(.*\\Flagged.*\)\)\r\n$/);
    s.expungeNow('INBOX', [1]);
    expect(await watcher.settle()).toBe('* 1 EXPUNGE\r\n');
  });

  it('holds EXPUNGE with SELECTED-DELAYED until a command allows it, and leaves flags out without FlagChange', async () => {
    const { s, watcher } = await pair();
    s.deliver('INBOX', messageOf(1));
    await watcher.say('x NOOP');
    await watcher.say('n NOTIFY SET (selected-delayed (MessageNew MessageExpunge))');
    s.setFlags('INBOX', [1], 'add', ['\\Flagged']);
    expect(await watcher.settle()).toBe('');
    s.expungeNow('INBOX', [1]);
    expect(await watcher.settle()).toBe('');
    expect(await watcher.say('y NOOP')).toBe('* 1 EXPUNGE\r\ny OK NOOP completed\r\n');
  });

  it('tells the selected mailbox as RFC 3501 does (at the next command) with SELECTED NONE', async () => {
    const { s, watcher } = await pair();
    await watcher.say('n NOTIFY SET (selected NONE) (personal (MessageNew MessageExpunge))');
    s.deliver('INBOX', messageOf(1));
    expect(await watcher.settle()).toBe('');
    expect(await watcher.say('x NOOP')).toMatch(/^\* 1 EXISTS\r\n/);
  });

  it('pushes during IDLE too, other mailboxes and the selected one', async () => {
    const { s, watcher, actor } = await pair();
    await watcher.say(
      'n NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))',
    );
    expect(await watcher.say('i IDLE')).toBe('+ idling\r\n');
    s.deliver('INBOX', messageOf(1));
    expect(await watcher.settle()).toMatch(/^\* 1 EXISTS\r\n/);
    s.deliver('Sent', messageOf(1));
    expect(await watcher.settle()).toMatch(/^\* STATUS "Sent" \(MESSAGES 1 UIDNEXT 2 /);
    await actor.say('c CREATE Later');
    expect(await watcher.settle()).toBe('* LIST () "/" "Later"\r\n');
    expect(await watcher.say('DONE')).toBe('i OK IDLE terminated\r\n');
  });

  it('NOTIFY SET STATUS answers the STATUS of every matching mailbox but the selected one first', async () => {
    const { watcher } = await pair();
    expect(
      (await watcher.say('n NOTIFY SET STATUS (personal (MessageNew MessageExpunge))')).replace(
        UIDVALIDITY,
        'UIDVALIDITY v',
      ),
    ).toBe(
      '* STATUS "Lists" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY v UNSEEN 0)\r\n' +
        '* STATUS "Lists/ietf" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY v UNSEEN 0)\r\n' +
        '* STATUS "Sent" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY v UNSEEN 0)\r\n' +
        'n OK NOTIFY completed\r\n',
    );
  });

  it('refuses events it does not send with NO [BADEVENT], changing nothing', async () => {
    const { s, watcher } = await pair();
    await watcher.say('n NOTIFY SET (personal (MessageNew MessageExpunge))');
    expect(
      await watcher.say('m NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange XFuture))'),
    ).toBe(
      'm NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] ' +
        'not supported: AnnotationChange XFuture\r\n',
    );
    expect(await watcher.say('k NOTIFY SET (personal (MailboxMetadataChange))')).toMatch(/^k NO \[BADEVENT /);
    s.deliver('Sent', messageOf(1));
    expect(await watcher.settle()).toMatch(/^\* STATUS "Sent"/);
  });

  it('stops after NOTIFY NONE; BAD for bad syntax', async () => {
    const { s, watcher } = await pair();
    await watcher.say('n NOTIFY SET (personal (MessageNew MessageExpunge))');
    expect(await watcher.say('o NOTIFY NONE')).toBe('o OK NOTIFY completed\r\n');
    s.deliver('Sent', messageOf(1));
    expect(await watcher.settle()).toBe('');
    expect(await watcher.say('p NOTIFY SET (personal (MessageNew))')).toBe(
      'p BAD MessageNew and MessageExpunge go together\r\n',
    );
    expect(await watcher.say('q NOTIFY')).toBe('q BAD NOTIFY needs SET or NONE\r\n');
  });
});

describe('NOTIFICATIONOVERFLOW (RFC 5465 §5.8)', () => {
  it('says NOTIFICATIONOVERFLOW and stops when the client lets notifications pile up', async () => {
    const written: string[] = [];
    let listener: ((event: AccountEvent) => void) | undefined;
    let unwatched = false;
    const context = {
      account: {
        watchAccount: (l: (event: AccountEvent) => void) => {
          listener = l;
          return () => {
            unwatched = true;
          };
        },
      },
      selected: undefined,
      write: async (chunk: string) => void written.push(chunk),
    } as unknown as ImapContext;
    const stuck: (() => Promise<void>)[] = [];
    const delivery = new NotifyDelivery(
      context,
      async (job) => {
        // The first jobs never get their turn (a client that does not read); later ones run.
        if (stuck.length < 3) stuck.push(job);
        else await job();
      },
      3,
    );
    const notifications = {
      selected: undefined,
      responsesFor: async () => ['* STATUS "Sent" (MESSAGES 1)\r\n'],
    } as unknown as MailboxNotifications;
    delivery.start(notifications);
    for (let i = 0; i < 5; i++) listener!({ kind: 'messages', mailbox: 'Sent', change: 'new' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual([
      '* OK [NOTIFICATIONOVERFLOW] too many notifications waiting; NOTIFY is off\r\n',
    ]);
    expect(unwatched).toBe(true);
  });
});
