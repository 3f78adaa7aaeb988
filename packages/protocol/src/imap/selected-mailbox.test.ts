import { describe, expect, it, vi } from 'vitest';
import { SharedMailboxStates, START_WITHIN_MS } from './mailbox-state.js';
import { SelectedMailbox } from './selected-mailbox.js';
import { loggedIn, MemoryMailStore, shelfOf } from './test-account.js';

// Views on one mailbox share one copy of its UIDs and flags while they agree (the harness
// shares them as the gateway does); each diverges only by its own change or its own sync.

/** The memory behind a session's view: the same buffer means the same copy. */
function bufferOf(view: SelectedMailbox | undefined): ArrayBufferLike {
  if (!view) throw new Error('nothing selected');
  return view.allUids().buffer;
}

describe('SelectedMailbox sharing', () => {
  it('two sessions on one mailbox hold one copy, each with its own \\Recent', async () => {
    const store = MemoryMailStore.withMessages(3);
    const a = await loggedIn({}, store);
    const b = await loggedIn({}, store);
    expect(await a.say('s SELECT INBOX')).toContain('* 3 RECENT\r\n');
    expect(await b.say('s SELECT INBOX')).toContain('* 0 RECENT\r\n');
    expect(a.session.selected!.sharesState).toBe(true);
    expect(b.session.selected!.sharesState).toBe(true);
    expect(bufferOf(b.session.selected)).toBe(bufferOf(a.session.selected));
    expect(shelfOf(store).size).toBe(1);
    expect(await a.say('f FETCH 1 FLAGS')).toBe('* 1 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n');
    expect(await b.say('f FETCH 1 FLAGS')).toBe('* 1 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n');
  });

  it("one session's STORE is not in the other's view before that one syncs; then they share again", async () => {
    const store = MemoryMailStore.withMessages(3);
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    const before = bufferOf(b.session.selected);
    expect(bufferOf(a.session.selected)).toBe(before);

    expect(await a.say('s STORE 2 +FLAGS (\\Flagged)')).toBe(
      '* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\ns OK STORE completed\r\n',
    );
    expect(a.session.selected!.flagsOf(2)).toEqual(['\\Flagged']);
    // b has not synced: its view is what it was, in the copy it held.
    expect(b.session.selected!.flagsOf(2)).toEqual([]);
    expect(bufferOf(b.session.selected)).toBe(before);
    expect(bufferOf(a.session.selected)).not.toBe(before);

    expect(await b.say('n NOOP')).toBe('* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\nn OK NOOP completed\r\n');
    expect(b.session.selected!.flagsOf(2)).toEqual(['\\Flagged']);
    expect(b.session.selected!.sharesState).toBe(true);
    // a keeps the copy its STORE made until its own next sync finds b's state the same.
    expect(a.session.selected!.sharesState).toBe(false);
    expect(await a.say('n NOOP')).toBe('n OK NOOP completed\r\n');
    expect(bufferOf(a.session.selected)).toBe(bufferOf(b.session.selected));
  });

  it("one session's EXPUNGE renumbers only its own view until the other syncs", async () => {
    const store = MemoryMailStore.withMessages(3);
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    expect(await a.say('s STORE 2 +FLAGS.SILENT (\\Deleted)', 'e EXPUNGE')).toContain('* 2 EXPUNGE\r\n');
    expect(a.session.selected!.exists).toBe(2);
    expect(a.session.selected!.uidAt(2)).toBe(3);
    // b still numbers three messages, UID 2 as message 2.
    expect(b.session.selected!.exists).toBe(3);
    expect(b.session.selected!.uidAt(2)).toBe(2);
    // A FETCH may not send EXPUNGE: b keeps its numbering, the message is pending there.
    expect(await b.say('f FETCH 3 UID')).toContain('* 3 FETCH (UID 3)\r\n');
    expect(b.session.selected!.exists).toBe(3);
    expect(b.session.selected!.isGone(2)).toBe(true);
    expect(a.session.selected!.uidAt(2)).toBe(3);
    expect(await b.say('n NOOP')).toBe('* 2 EXPUNGE\r\nn OK NOOP completed\r\n');
    expect(b.session.selected!.exists).toBe(2);
    expect(bufferOf(b.session.selected)).toBe(bufferOf(a.session.selected));
  });

  it('a new message from elsewhere: each session adds it at its sync and they share again', async () => {
    const store = MemoryMailStore.withMessages(3);
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    store.deliver('INBOX', Buffer.from('Subject: new\r\n\r\nhello\r\n'));
    expect(await a.say('n NOOP')).toBe('* 4 EXISTS\r\n* 4 RECENT\r\nn OK NOOP completed\r\n');
    expect(b.session.selected!.exists).toBe(3);
    expect(await b.say('n NOOP')).toBe('* 4 EXISTS\r\n* 0 RECENT\r\nn OK NOOP completed\r\n');
    expect(bufferOf(b.session.selected)).toBe(bufferOf(a.session.selected));
  });

  it('views that differ keep their own copies; an older view does not displace a newer one', async () => {
    const shelf = new SharedMailboxStates();
    const store = MemoryMailStore.withMessages(3);
    const account = store.account('alice@example.org');
    const open = async () => {
      const box = (await account.open('INBOX', true))!;
      const sharing = { shelf, key: 'inbox' };
      return new SelectedMailbox(Object.assign(box, { sharing }), await box.snapshot());
    };
    const first = await open();
    store.setFlags('INBOX', [1], 'add', ['\\Seen']);
    const second = await open();
    // Newer and different: it replaces the first on the shelf; the first keeps its own.
    expect(second.sharesState).toBe(true);
    expect(first.flagsOf(1)).toEqual([]);
    expect(second.flagsOf(1)).toEqual(['\\Seen']);
    await first.sync(true);
    expect(first.flagsOf(1)).toEqual(['\\Seen']);
    expect(first.allUids().buffer).toBe(second.allUids().buffer);
    expect(shelf.size).toBe(1);
  });

  describe('a view opened from the shelf', () => {
    const setup = () => {
      const clock = { now: 0 };
      const shelf = new SharedMailboxStates(() => clock.now);
      const store = MemoryMailStore.withMessages(3);
      const account = store.account('alice@example.org');
      const open = async (readOnly: boolean) => {
        const box = Object.assign((await account.open('INBOX', readOnly))!, {
          sharing: { shelf, key: 'inbox' },
        });
        const snapshot = vi.spyOn(box, 'snapshot');
        const view = await SelectedMailbox.open(box);
        return { view, snapshots: snapshot.mock.calls.length };
      };
      return { store, open, clock };
    };

    it('reads what changed since the shelf state, not every message, and is the same mailbox', async () => {
      const { store, open } = setup();
      const first = await open(false);
      expect(first.snapshots).toBe(1);
      // Changes the first view has not synced: the second starts from the state before them.
      store.setFlags('INBOX', [1], 'add', ['\\Seen']);
      store.expungeNow('INBOX', [2]);
      store.deliver('INBOX', Buffer.from('Subject: new\r\n\r\nhello\r\n'));
      const second = await open(false);
      expect(second.snapshots).toBe(0);
      expect([...second.view.allUids()]).toEqual([1, 3, 4]);
      expect(second.view.flagsOf(1)).toEqual(['\\Seen']);
      expect(second.view.hasPendingExpunges).toBe(false);
      expect(second.view.recentUids()).toEqual([4]);
      expect(second.view.uidNext).toBe(5);
      // The first has seen none of it yet, and keeps its numbering.
      expect([...first.view.allUids()]).toEqual([1, 2, 3]);
      expect(first.view.flagsOf(1)).toEqual([]);
      expect(first.view.recentUids()).toEqual([1, 2, 3]);
      const update = await first.view.sync(true);
      expect(update.expunged).toEqual([2]);
      expect(first.view.allUids().buffer).toBe(second.view.allUids().buffer);
    });

    it('makes every message of the claim \\Recent, those of the shelf state too', async () => {
      const { open } = setup();
      const examined = await open(true);
      // EXAMINE shows \\Recent without claiming it (RFC 3501 §6.3.2).
      expect(examined.view.recentUids()).toEqual([1, 2, 3]);
      const selected = await open(false);
      expect(selected.snapshots).toBe(0);
      expect(selected.view.recentUids()).toEqual([1, 2, 3]);
      expect(selected.view.allUids().buffer).toBe(examined.view.allUids().buffer);
      // Claimed now: a later session sees none of them as \\Recent.
      const later = await open(false);
      expect(later.view.recentCount).toBe(0);
    });

    it('is not started from a state no view has confirmed lately', async () => {
      const { open, clock } = setup();
      const first = await open(false);
      clock.now += START_WITHIN_MS + 1;
      // A sync that finds nothing new confirms the state: a new view starts from it.
      await first.view.sync(true);
      expect((await open(false)).snapshots).toBe(0);
      // Nobody confirms it for longer than that: a new view reads every message again.
      clock.now += START_WITHIN_MS + 1;
      expect((await open(false)).snapshots).toBe(1);
    });
  });
});
