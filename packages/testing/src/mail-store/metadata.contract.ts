import type { ImapAccount, MetadataChange } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import type { NewMailUser } from './mail-store-contract-support.js';

// The mail store contract, METADATA (RFC 5464): the annotations GETMETADATA and SETMETADATA
// read and write through ImapAccount, of the server (mailbox null) and of each mailbox.
// Entry names reach the store valid and in lower case (the engine checks them).

const set = (entry: string, value: string | Buffer | null): MetadataChange => ({
  entry,
  value: value === null ? null : Buffer.from(value),
});

const text = (entries: readonly { entry: string; value: Buffer }[] | 'nonexistent') =>
  entries === 'nonexistent' ? entries : entries.map(({ entry, value }) => [entry, value.toString('utf8')]);

const MANY = 1000;

async function entries(account: ImapAccount, mailbox: string | null, ...names: string[]) {
  return text(await account.getMetadata(mailbox, names, 'infinity'));
}

export function describeMetadataContract(newUser: NewMailUser): void {
  describe('metadata', () => {
    it('has no entries at first, and none for a mailbox that does not exist', async () => {
      const account = await (await newUser()).session();
      expect(await account.getMetadata(null, ['/private', '/shared'], 'infinity')).toEqual([]);
      expect(await account.getMetadata('INBOX', ['/private/comment'], '0')).toEqual([]);
      expect(await account.getMetadata('Nowhere', ['/private/comment'], '0')).toBe('nonexistent');
      expect(await account.setMetadata('Nowhere', [set('/private/comment', 'x')], MANY)).toBe('nonexistent');
      expect(await account.setMetadata('Nowhere', [], MANY)).toBe('nonexistent');
      expect(await account.setMetadata('INBOX', [], MANY)).toBe('ok');
    });

    it('keeps values as octets, NUL and 8-bit included, and the empty value', async () => {
      const account = await (await newUser()).session();
      const binary = Buffer.from([0, 1, 0xff, 0x0d, 0x0a, 0x80]);
      expect(
        await account.setMetadata(
          'Sent',
          [
            set('/private/vendor/x/bin', binary),
            set('/shared/comment', ''),
            set('/private/comment', 'Grüße'),
          ],
          MANY,
        ),
      ).toBe('ok');
      const got = await account.getMetadata('Sent', ['/private/vendor/x/bin', '/shared/comment'], '0');
      expect(got).toEqual([
        { entry: '/private/vendor/x/bin', value: binary },
        { entry: '/shared/comment', value: Buffer.alloc(0) },
      ]);
      expect(await entries(account, 'sent', '/private/comment')).toBe('nonexistent');
      expect(await entries(account, 'Sent', '/private/comment')).toEqual([['/private/comment', 'Grüße']]);
    });

    it('reads an entry, its children at depth 1 and all below at infinity, sorted by name', async () => {
      const account = await (await newUser()).session();
      await account.setMetadata(
        'INBOX',
        [
          set('/private/vendor/x/a/b/c', '3'),
          set('/private/vendor/x/a', '1'),
          set('/private/vendor/x/a/b', '2'),
          set('/private/vendor/x/ab', '4'),
          set('/shared/comment', 's'),
        ],
        MANY,
      );
      expect(text(await account.getMetadata('inbox', ['/private/vendor/x/a'], '0'))).toEqual([
        ['/private/vendor/x/a', '1'],
      ]);
      expect(text(await account.getMetadata('INBOX', ['/private/vendor/x/a'], '1'))).toEqual([
        ['/private/vendor/x/a', '1'],
        ['/private/vendor/x/a/b', '2'],
      ]);
      expect(text(await account.getMetadata('INBOX', ['/private/vendor/x/a'], 'infinity'))).toEqual([
        ['/private/vendor/x/a', '1'],
        ['/private/vendor/x/a/b', '2'],
        ['/private/vendor/x/a/b/c', '3'],
      ]);
      expect(text(await account.getMetadata('INBOX', ['/private', '/shared/comment'], '1'))).toEqual([
        ['/shared/comment', 's'],
      ]);
      expect(await entries(account, 'INBOX', '/private', '/shared')).toEqual([
        ['/private/vendor/x/a', '1'],
        ['/private/vendor/x/a/b', '2'],
        ['/private/vendor/x/a/b/c', '3'],
        ['/private/vendor/x/ab', '4'],
        ['/shared/comment', 's'],
      ]);
    });

    it('matches names literally: "_" and "\\" are no wildcards', async () => {
      const account = await (await newUser()).session();
      await account.setMetadata(
        null,
        [
          set('/private/a_b/c', '1'),
          set('/private/axb/c', '2'),
          set('/private/a\\b/c', '3'),
          set('/private/a\\\\b/c', '4'),
        ],
        MANY,
      );
      expect(await entries(account, null, '/private/a_b')).toEqual([['/private/a_b/c', '1']]);
      expect(await entries(account, null, '/private/a\\b')).toEqual([['/private/a\\b/c', '3']]);
    });

    it('keeps the server entries and each mailbox entries apart, and each user apart', async () => {
      const alice = await (await newUser()).session();
      const bob = await (await newUser()).session();
      await alice.setMetadata(null, [set('/private/comment', 'server')], MANY);
      await alice.setMetadata('INBOX', [set('/private/comment', 'inbox')], MANY);
      await alice.setMetadata('Sent', [set('/private/comment', 'sent')], MANY);
      expect(await entries(alice, null, '/private')).toEqual([['/private/comment', 'server']]);
      expect(await entries(alice, 'INBOX', '/private')).toEqual([['/private/comment', 'inbox']]);
      expect(await entries(alice, 'Sent', '/private')).toEqual([['/private/comment', 'sent']]);
      expect(await entries(bob, null, '/private')).toEqual([]);
      expect(await entries(bob, 'INBOX', '/private')).toEqual([]);
    });

    it('replaces and removes; the last change of an entry named twice counts', async () => {
      const user = await newUser();
      const account = await user.session();
      await account.setMetadata('INBOX', [set('/private/a', '1'), set('/private/b', '2')], MANY);
      expect(
        await account.setMetadata(
          'INBOX',
          [set('/private/a', null), set('/private/b', 'two'), set('/private/c', 'x'), set('/private/c', '3')],
          MANY,
        ),
      ).toBe('ok');
      expect(
        await account.setMetadata('INBOX', [set('/private/d', '4'), set('/private/d', null)], MANY),
      ).toBe('ok');
      expect(await account.setMetadata('INBOX', [set('/private/nothing', null)], MANY)).toBe('ok');
      // Another session of the user reads what this one wrote.
      expect(await entries(await user.session(), 'INBOX', '/private')).toEqual([
        ['/private/b', 'two'],
        ['/private/c', '3'],
      ]);
    });

    it('refuses more entries than the limit across the account, changing nothing', async () => {
      const account = await (await newUser()).session();
      expect(await account.setMetadata(null, [set('/private/a', '1')], 3)).toBe('ok');
      expect(await account.setMetadata('INBOX', [set('/private/a', '1'), set('/private/b', '2')], 3)).toBe(
        'ok',
      );
      expect(await account.setMetadata('Sent', [set('/private/a', '1')], 3)).toBe('too-many');
      expect(await account.setMetadata('INBOX', [set('/private/b', 'new'), set('/private/c', '3')], 3)).toBe(
        'too-many',
      );
      expect(await entries(account, 'INBOX', '/private')).toEqual([
        ['/private/a', '1'],
        ['/private/b', '2'],
      ]);
      // Replacing, and one in for one out, work at the limit.
      expect(await account.setMetadata('INBOX', [set('/private/b', 'new')], 3)).toBe('ok');
      expect(await account.setMetadata('INBOX', [set('/private/a', null), set('/private/c', '3')], 3)).toBe(
        'ok',
      );
      // Below an account already over a lowered limit, removing still works.
      expect(await account.setMetadata('INBOX', [set('/private/c', null)], 1)).toBe('ok');
      expect(await entries(account, 'INBOX', '/private')).toEqual([['/private/b', 'new']]);
    });

    it('moves entries with RENAME, children included, and a new mailbox of an old name has none', async () => {
      const account = await (await newUser()).session();
      await account.createMailbox('Work');
      await account.createMailbox('Work/Old');
      await account.setMetadata('Work', [set('/private/comment', 'work')], MANY);
      await account.setMetadata('Work/Old', [set('/shared/comment', 'old')], MANY);
      expect(await account.renameMailbox('Work', 'Job')).toBe('ok');
      expect(await entries(account, 'Job', '/private')).toEqual([['/private/comment', 'work']]);
      expect(await entries(account, 'Job/Old', '/shared')).toEqual([['/shared/comment', 'old']]);
      expect(await account.createMailbox('Work')).toBe('ok');
      expect(await entries(account, 'Work', '/private')).toEqual([]);
    });

    it('ends entries with DELETE, also when the name stays \\Noselect for its children', async () => {
      const account = await (await newUser()).session();
      await account.createMailbox('Parent');
      await account.createMailbox('Parent/Child');
      await account.setMetadata('Parent', [set('/private/comment', 'p')], 2);
      await account.setMetadata('Parent/Child', [set('/private/comment', 'c')], 2);
      expect(await account.deleteMailbox('Parent')).toBe('ok');
      expect(await account.getMetadata('Parent', ['/private'], 'infinity')).toBe('nonexistent');
      expect(await account.setMetadata('Parent', [set('/private/comment', 'x')], 2)).toBe('nonexistent');
      expect(await account.createMailbox('Parent')).toBe('ok');
      expect(await entries(account, 'Parent', '/private')).toEqual([]);
      expect(await account.deleteMailbox('Parent/Child')).toBe('ok');
      expect(await account.createMailbox('Parent/Child')).toBe('ok');
      expect(await entries(account, 'Parent/Child', '/private')).toEqual([]);
      // What was deleted no longer counts against the limit.
      expect(await account.setMetadata(null, [set('/private/a', '1'), set('/private/b', '2')], 2)).toBe('ok');
    });
  });
}
