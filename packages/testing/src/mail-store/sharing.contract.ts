import {
  accountAcl,
  type ImapAccount,
  MailboxPermissionDenied,
  sharedName,
  withSharedMailboxes,
} from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, nextWake, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, sharing (RFC 4314 ACL, RFC 2342 "Other Users"): what the store's
// ACL records (ImapAccount.sharing) give the engine's shared-mailbox layer, as a session
// sees it after login (withSharedMailboxes). The only way from one account into another.

interface Pair {
  readonly alice: ImapAccount;
  readonly bob: ImapAccount;
  /** Bob's name for alice's mailbox. */
  readonly shared: (name: string) => string;
}

/** Two users; alice has "Projects" holding two messages, shared with nobody yet. */
async function twoUsers(newUser: NewMailUser): Promise<Pair> {
  const [a, b] = [await newUser(), await newUser()];
  const alice = withSharedMailboxes(await a.session());
  const bob = withSharedMailboxes(await b.session());
  expect(await alice.createMailbox('Projects')).toBe('ok');
  await appendAll(alice, 'Projects', [mail(1), mail(2)]);
  return { alice, bob, shared: (name) => sharedName(alice.address, name) };
}

const grant = (account: ImapAccount, name: string, who: string, rights: string) =>
  accountAcl(account)!.change(name, who, () => rights);

export function describeSharingContract(newUser: NewMailUser): void {
  describe('sharing (ACL)', () => {
    it('lists the owner with every right, then each grant; rights follow RENAME', async () => {
      const { alice, bob } = await twoUsers(newUser);
      expect(await accountAcl(alice)!.acl('Projects')).toEqual([
        { identifier: alice.address, rights: 'lrswipkxtea' },
      ]);
      expect(await grant(alice, 'Projects', bob.address.toUpperCase(), 'lr')).toBe('ok');
      expect(await accountAcl(alice)!.acl('Projects')).toEqual([
        { identifier: alice.address, rights: 'lrswipkxtea' },
        { identifier: bob.address, rights: 'lr' },
      ]);
      expect(await alice.renameMailbox('Projects', 'Work')).toBe('ok');
      expect(await accountAcl(alice)!.acl('Work')).toContainEqual({ identifier: bob.address, rights: 'lr' });
      expect(await accountAcl(alice)!.acl('Projects')).toBeUndefined();
    });

    it('refuses a grant to no account, to the owner, and on no mailbox', async () => {
      const { alice, bob } = await twoUsers(newUser);
      expect(await grant(alice, 'Projects', 'nobody-here@example.org', 'lr')).toBe('no-such-account');
      expect(await grant(alice, 'Projects', alice.address, 'lr')).toBe('owner');
      expect(await grant(alice, 'Nothing', bob.address, 'lr')).toBe('nonexistent');
    });

    it('shows a shared mailbox under Other Users/<owner>/ and opens it read-only with lr', async () => {
      const { alice, bob, shared } = await twoUsers(newUser);
      await grant(alice, 'Projects', bob.address, 'lr');
      const names = (await bob.listMailboxes()).map((m) => m.name);
      expect(names).toContain(shared('Projects'));
      expect(names).not.toContain(shared('INBOX'));
      expect(await accountAcl(bob)!.rights(shared('Projects'))).toEqual({
        owner: alice.address,
        rights: 'lr',
      });
      expect(await bob.status(shared('Projects'))).toMatchObject({ messages: 2 });
      const box = await openOrFail(bob, shared('Projects'));
      expect(box.readOnly).toBe(true);
      const snapshot = await box.snapshot();
      const uids = snapshot.messages.map((m) => m.uid);
      expect((await box.fetch(uids, { metadata: false, raw: true })).map((m) => m.raw?.length)).toEqual([
        mail(1).length,
        mail(2).length,
      ]);
      await expect(box.store(uids, 'add', ['\\Seen'])).rejects.toBeInstanceOf(MailboxPermissionDenied);
      await expect(box.expunge(uids)).rejects.toBeInstanceOf(MailboxPermissionDenied);
      await expect(bob.append(shared('Projects'), { raw: mail(3), flags: [] })).rejects.toBeInstanceOf(
        MailboxPermissionDenied,
      );
      box.close();
    });

    it('lets lrswi write the flags it may and append, refusing \\Deleted and EXPUNGE', async () => {
      const { alice, bob, shared } = await twoUsers(newUser);
      await grant(alice, 'Projects', bob.address, 'lrswi');
      const watching = await openOrFail(alice, 'Projects');
      await watching.snapshot();
      const woken = nextWake(watching);
      const box = await openOrFail(bob, shared('Projects'));
      expect(box.readOnly).toBe(false);
      const uids = (await box.snapshot()).messages.map((m) => m.uid);
      const seen = await box.store([uids[0]!], 'add', ['\\Seen', '\\Deleted']);
      expect(seen.map((m) => m.flags)).toEqual([['\\Seen']]);
      await woken.woken;
      await expect(box.store(uids, 'add', ['\\Deleted'])).rejects.toBeInstanceOf(MailboxPermissionDenied);
      await expect(box.expunge(uids)).rejects.toBeInstanceOf(MailboxPermissionDenied);
      const appended = await bob.append(shared('Projects'), { raw: mail(3), flags: ['\\Deleted', 'urgent'] });
      expect(appended).toMatchObject({ uid: 3 });
      const stored = await alice.storedMessage('Projects', undefined, 3);
      expect(stored?.flags).toEqual(['urgent']);
      expect(await alice.status('Projects')).toMatchObject({ messages: 3 });
      box.close();
      watching.close();
    });

    it('answers a mailbox nobody granted this user as one that does not exist', async () => {
      const { alice, shared } = await twoUsers(newUser);
      const carol = withSharedMailboxes(await (await newUser()).session());
      for (const name of [shared('Projects'), shared('Nothing'), sharedName('nobody@example.org', 'INBOX')]) {
        expect(await carol.open(name, false), name).toBeUndefined();
        expect(await carol.status(name), name).toBeUndefined();
        expect(await carol.append(name, { raw: mail(9), flags: [] }), name).toBe('nonexistent');
        expect(await carol.deleteMailbox(name), name).toBe('nonexistent');
        expect(await accountAcl(carol)!.rights(name), name).toBeUndefined();
        expect(await accountAcl(carol)!.acl(name), name).toBeUndefined();
      }
      expect(
        (await carol.listMailboxes()).map((m) => m.name).filter((n) => n.startsWith('Other Users')),
      ).toEqual([]);
      expect(await alice.status('Projects')).toMatchObject({ messages: 2 });
    });

    it('lists a mailbox granted l alone as not selectable, and refuses SELECT with NOPERM', async () => {
      const { alice, bob, shared } = await twoUsers(newUser);
      await grant(alice, 'Projects', bob.address, 'l');
      expect((await bob.listMailboxes()).find((m) => m.name === shared('Projects'))).toMatchObject({
        noselect: true,
      });
      await expect(bob.open(shared('Projects'), true)).rejects.toBeInstanceOf(MailboxPermissionDenied);
    });

    it('takes everything away on revoke, from an open mailbox too', async () => {
      const { alice, bob, shared } = await twoUsers(newUser);
      await grant(alice, 'Projects', bob.address, 'lrs');
      const box = await openOrFail(bob, shared('Projects'));
      const uids = (await box.snapshot()).messages.map((m) => m.uid);
      expect(await grant(alice, 'Projects', bob.address, '')).toBe('ok');
      expect(await accountAcl(alice)!.acl('Projects')).toEqual([
        { identifier: alice.address, rights: 'lrswipkxtea' },
      ]);
      await expect(box.fetch(uids, { metadata: false, raw: false })).rejects.toBeInstanceOf(
        MailboxPermissionDenied,
      );
      expect(await bob.open(shared('Projects'), true)).toBeUndefined();
      expect((await bob.listMailboxes()).map((m) => m.name)).not.toContain(shared('Projects'));
      box.close();
    });

    it('lets a grantee with i copy its own messages in, and with x delete the mailbox', async () => {
      const { alice, bob, shared } = await twoUsers(newUser);
      await grant(alice, 'Projects', bob.address, 'lri');
      const [uid] = await appendAll(bob, 'INBOX', [mail(7)]);
      const inbox = await openOrFail(bob, 'INBOX');
      const copied = await inbox.copy([uid!], shared('Projects'), false);
      expect(copied).toMatchObject({ source: [uid], target: [3] });
      expect(await alice.status('Projects')).toMatchObject({ messages: 3 });
      inbox.close();
      await expect(bob.deleteMailbox(shared('Projects'))).rejects.toBeInstanceOf(MailboxPermissionDenied);
      await grant(alice, 'Projects', bob.address, 'lrx');
      expect(await bob.deleteMailbox(shared('Projects'))).toBe('ok');
      expect(await alice.status('Projects')).toBeUndefined();
    });
  });
}
