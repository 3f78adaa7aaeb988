import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, mailboxes: LIST, CREATE, DELETE, RENAME, SUBSCRIBE and STATUS
// as the ImapAccount interface answers them (RFC 3501 §6.3).

export function describeMailboxContract(newUser: NewMailUser): void {
  describe('mailboxes', () => {
    it('gives a new user the standard mailboxes, INBOX empty and selectable', async () => {
      const account = await (await newUser()).session();
      const list = await account.listMailboxes();
      expect(list.map((m) => m.name).sort()).toEqual(
        ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash'].sort(),
      );
      expect(list.find((m) => m.name === 'Sent')).toMatchObject({ specialUse: '\\Sent', subscribed: true });
      expect(list.find((m) => m.name === 'INBOX')).toEqual({
        name: 'INBOX',
        specialUse: null,
        subscribed: true,
      });
      expect(await account.status('INBOX')).toMatchObject({ messages: 0, recent: 0, unseen: 0, uidNext: 1 });
    });

    it('creates a mailbox once; the second CREATE of the name is "exists"', async () => {
      const account = await (await newUser()).session();
      expect(await account.createMailbox('Projects/Été')).toBe('ok');
      expect(await account.createMailbox('Projects/Été')).toBe('exists');
      expect((await account.listMailboxes()).find((m) => m.name === 'Projects/Été')).toEqual({
        name: 'Projects/Été',
        specialUse: null,
        subscribed: true,
      });
      expect(await account.status('Projects/Été')).toMatchObject({ messages: 0, uidNext: 1 });
    });

    it('takes INBOX in any case as INBOX (RFC 3501 §5.1)', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'inbox', [mail(1)]);
      expect(await account.createMailbox('Inbox')).toBe('exists');
      expect(await account.status('iNbOx')).toMatchObject({ messages: 1 });
      expect(await account.deleteMailbox('inbox')).toBe('inbox');
      expect(await account.createMailbox('inbox/Later')).toBe('ok');
      expect((await account.listMailboxes()).map((m) => m.name)).toContain('INBOX/Later');
    });

    it('refuses names the hierarchy rules forbid as "invalid"', async () => {
      const account = await (await newUser()).session();
      for (const name of ['', 'a//b', '/top', 'trailing/', 'tab\there']) {
        expect(await account.createMailbox(name), JSON.stringify(name)).toBe('invalid');
      }
      expect(await account.renameMailbox('Archive', 'a//b')).toBe('invalid');
      expect(await account.setSubscribed('a//b', true)).toBe('invalid');
    });

    it('deletes a mailbox without children, messages and all', async () => {
      const account = await (await newUser()).session();
      await account.createMailbox('Old');
      await appendAll(account, 'Old', [mail(1), mail(2)]);
      expect(await account.deleteMailbox('Old')).toBe('ok');
      // Its name stays only as a subscription (see the subscription tests below).
      const after = await account.listMailboxes();
      expect(after.filter((m) => !m.nonexistent).map((m) => m.name)).not.toContain('Old');
      expect(await account.status('Old')).toBeUndefined();
      expect(await account.open('Old', false)).toBeUndefined();
      expect(await account.deleteMailbox('Old')).toBe('nonexistent');
      expect(await account.append('Old', { raw: mail(3), flags: [] })).toBe('nonexistent');
    });

    it('keeps a deleted parent as \\Noselect for its children, without its messages (RFC 3501 §6.3.4)', async () => {
      const user = await newUser();
      const account = await user.session();
      await account.createMailbox('Parent');
      await account.createMailbox('Parent/Child');
      await appendAll(account, 'Parent', [mail(1), mail(2)]);
      await appendAll(account, 'Parent/Child', [mail(3)]);
      const before = await account.status('Parent');

      expect(await account.deleteMailbox('Parent')).toBe('ok');
      const list = await account.listMailboxes();
      expect(list.find((m) => m.name === 'Parent')).toMatchObject({ noselect: true });
      expect(list.find((m) => m.name === 'Parent/Child')?.noselect).toBeFalsy();
      expect(await account.status('Parent')).toBeUndefined();
      expect(await account.open('Parent', true)).toBeUndefined();
      expect(await account.append('Parent', { raw: mail(4), flags: [] })).toBe('nonexistent');
      const inbox = await openOrFail(account, 'INBOX');
      await appendAll(account, 'INBOX', [mail(5)]);
      expect(await inbox.copy([1], 'Parent', false)).toBe('nonexistent');
      expect(await account.status('Parent/Child')).toMatchObject({ messages: 1 });
      // Deleting the \Noselect name while it still has children is the error.
      expect(await account.deleteMailbox('Parent')).toBe('has-children');

      // CREATE makes it a mailbox again, empty, its UIDs going on from where they were.
      expect(await account.createMailbox('Parent')).toBe('ok');
      const revived = await account.status('Parent');
      expect(revived).toMatchObject({ messages: 0, uidValidity: before!.uidValidity });
      expect(revived!.uidNext).toBeGreaterThanOrEqual(before!.uidNext);
      expect((await account.listMailboxes()).find((m) => m.name === 'Parent')?.noselect).toBeFalsy();
    });

    it('gives a mailbox made again under a deleted name a new UIDVALIDITY (RFC 3501 §2.3.1.1)', async () => {
      const account = await (await newUser()).session();
      await account.createMailbox('Again');
      await appendAll(account, 'Again', [mail(1)]);
      const first = await account.status('Again');
      await account.deleteMailbox('Again');
      await account.createMailbox('Again');
      const second = await account.status('Again');
      expect(second!.uidValidity).not.toBe(first!.uidValidity);
    });

    it('renames a mailbox with its children, keeping their messages and UIDVALIDITY', async () => {
      const account = await (await newUser()).session();
      await account.createMailbox('Work');
      await account.createMailbox('Work/2025');
      await appendAll(account, 'Work/2025', [mail(1), mail(2)]);
      const before = await account.status('Work/2025');
      expect(await account.renameMailbox('Work', 'Jobs')).toBe('ok');
      const names = (await account.listMailboxes()).map((m) => m.name);
      expect(names).toEqual(expect.arrayContaining(['Jobs', 'Jobs/2025']));
      expect(names).not.toContain('Work');
      expect(names).not.toContain('Work/2025');
      expect(await account.status('Jobs/2025')).toMatchObject({
        messages: 2,
        uidValidity: before!.uidValidity,
        uidNext: before!.uidNext,
      });
      expect(await account.renameMailbox('Work', 'Elsewhere')).toBe('nonexistent');
      expect(await account.renameMailbox('Jobs', 'Archive')).toBe('exists');
    });

    it('renames INBOX by moving its messages to the new name; INBOX stays, empty (RFC 3501 §6.3.5)', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)], ['\\Seen']);
      const watching = await openOrFail(account, 'INBOX');
      const seen = await watching.snapshot();
      expect(await account.renameMailbox('INBOX', 'Before')).toBe('ok');
      expect(await account.status('INBOX')).toMatchObject({ messages: 0 });
      expect(await account.status('Before')).toMatchObject({ messages: 2, unseen: 0 });
      // A session with INBOX open learns its messages are gone.
      expect((await watching.changesSince(seen.highestModseq)).expunged).toEqual([1, 2]);
      expect(await account.renameMailbox('inbox', 'Sent')).toBe('exists');
    });

    it('subscribes and unsubscribes existing mailboxes only', async () => {
      const account = await (await newUser()).session();
      expect(await account.setSubscribed('Junk', false)).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'Junk')?.subscribed).toBe(false);
      expect(await account.setSubscribed('Junk', true)).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'Junk')?.subscribed).toBe(true);
      expect(await account.setSubscribed('Nowhere', true)).toBe('nonexistent');
      expect(await account.setSubscribed('Nowhere', false)).toBe('nonexistent');
    });

    it('keeps a subscription when its mailbox is deleted, until UNSUBSCRIBE (RFC 3501 §6.3.9)', async () => {
      const account = await (await newUser()).session();
      expect(await account.createMailbox('Kept')).toBe('ok');
      expect(await account.createMailbox('Dropped')).toBe('ok');
      expect(await account.setSubscribed('Dropped', false)).toBe('ok');
      expect(await account.deleteMailbox('Kept')).toBe('ok');
      expect(await account.deleteMailbox('Dropped')).toBe('ok');
      const list = await account.listMailboxes();
      expect(list.find((m) => m.name === 'Kept')).toEqual({
        name: 'Kept',
        specialUse: null,
        subscribed: true,
        nonexistent: true,
      });
      expect(list.find((m) => m.name === 'Dropped')).toBeUndefined();
      // Created again, it is a mailbox and still subscribed.
      expect(await account.createMailbox('Kept')).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'Kept')).toEqual({
        name: 'Kept',
        specialUse: null,
        subscribed: true,
      });
      expect(await account.deleteMailbox('Kept')).toBe('ok');
      // UNSUBSCRIBE clears the name; then it is gone, and a second UNSUBSCRIBE finds nothing.
      expect(await account.setSubscribed('Kept', false)).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'Kept')).toBeUndefined();
      expect(await account.setSubscribed('Kept', false)).toBe('nonexistent');
      // SUBSCRIBE still wants a mailbox.
      expect(await account.setSubscribed('Kept', true)).toBe('nonexistent');
    });

    it('creates a mailbox with a special use (CREATE-SPECIAL-USE), also over a \\Noselect name', async () => {
      const account = await (await newUser()).session();
      expect(await account.createMailbox('Old', '\\Archive')).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'Old')?.specialUse).toBe('\\Archive');
      expect(await account.createMailbox('P')).toBe('ok');
      expect(await account.createMailbox('P/C')).toBe('ok');
      expect(await account.deleteMailbox('P')).toBe('ok');
      expect(await account.createMailbox('P', '\\Drafts')).toBe('ok');
      expect((await account.listMailboxes()).find((m) => m.name === 'P')).toMatchObject({
        specialUse: '\\Drafts',
      });
    });

    it('moves subscriptions with RENAME, children too', async () => {
      const account = await (await newUser()).session();
      expect(await account.createMailbox('Work')).toBe('ok');
      expect(await account.createMailbox('Work/2026')).toBe('ok');
      expect(await account.createMailbox('Work/Old')).toBe('ok');
      expect(await account.setSubscribed('Work/Old', false)).toBe('ok');
      expect(await account.renameMailbox('Work', 'Jobs')).toBe('ok');
      const byName = new Map((await account.listMailboxes()).map((m) => [m.name, m]));
      expect(byName.get('Jobs')?.subscribed).toBe(true);
      expect(byName.get('Jobs/2026')?.subscribed).toBe(true);
      expect(byName.get('Jobs/Old')?.subscribed).toBe(false);
      expect(byName.has('Work')).toBe(false);
      expect(byName.has('Work/2026')).toBe(false);
    });

    it('counts messages, unseen, \\Recent, size and UIDNEXT in STATUS', async () => {
      const account = await (await newUser()).session();
      const raws = [mail(1), mail(2, 'a longer body\r\n'.repeat(20)), mail(3)];
      await appendAll(account, 'INBOX', raws.slice(0, 1), ['\\Seen']);
      const uids = [...[1], ...(await appendAll(account, 'INBOX', raws.slice(1)))];
      const status = await account.status('INBOX');
      expect(status).toMatchObject({
        messages: 3,
        unseen: 2,
        recent: 3,
        size: raws.reduce((n, r) => n + r.length, 0),
        uidNext: uids[2]! + 1,
      });
      // A read-write open claims the \Recent messages for its session; STATUS counts none then.
      await (await openOrFail(account, 'INBOX')).snapshot();
      expect(await account.status('INBOX')).toMatchObject({ recent: 0, messages: 3 });
      expect(await account.status('Nowhere')).toBeUndefined();
    });
  });
}
