import type { ImapAccount, MailboxGrant, MailboxSharing, SharedMailboxGrant } from '@tegami/protocol';
import type { MemoryMailbox, MemoryMailboxes } from './memory-mailbox.js';
import { storedName } from './postgres-refusals.js';

// IMAP ACL (RFC 4314) of the in-memory store, as packages/store mailbox-acl.ts keeps it in
// Postgres: grants held with the MemoryMailbox object (RENAME takes them along, a mailbox
// removed takes them with it; DELETE that keeps a \Noselect name calls forget(), as the
// table's trigger does). One MemoryMailStore is one user's mail, so sharing needs a
// directory of several: stores that join one (join()) can grant each other mailboxes by
// address; a store that joins none has a directory of its own, with only itself in it.

export class MemoryDirectory {
  private static readonly ofStore = new WeakMap<object, MemoryDirectory>();
  private readonly stores = new Map<string, MemoryMailboxes>();
  private readonly grants = new WeakMap<MemoryMailbox, Map<string, string>>();

  /** The directory the store belongs to (a new one of its own until it joins another). */
  static of(store: MemoryMailboxes): MemoryDirectory {
    let directory = MemoryDirectory.ofStore.get(store);
    if (!directory) {
      directory = new MemoryDirectory();
      MemoryDirectory.ofStore.set(store, directory);
    }
    return directory;
  }

  /** Makes the store one of this directory's, before any of its accounts is opened. */
  join(store: MemoryMailboxes): void {
    MemoryDirectory.ofStore.set(store, this);
  }

  /** The user at `address` has its mail in `store` (accounts register when made). */
  register(address: string, store: MemoryMailboxes): void {
    this.stores.set(address.toLowerCase(), store);
  }

  /** A mailbox's grants, by lower-case address. */
  grantsOn(mailbox: MemoryMailbox): Map<string, string> {
    let grants = this.grants.get(mailbox);
    if (!grants) {
      grants = new Map();
      this.grants.set(mailbox, grants);
    }
    return grants;
  }

  forget(mailbox: MemoryMailbox): void {
    this.grants.delete(mailbox);
  }

  /**
   * The account's ACL records, as postgres-sharing.ts gives them from Postgres; `open`
   * makes an account on another user's store (the caller's class: no import cycle).
   */
  sharingOf(
    store: MemoryMailboxes,
    address: string,
    open: (store: MemoryMailboxes, address: string) => ImapAccount,
  ): MailboxSharing {
    const me = address.toLowerCase();
    const selectable = (name: string) => store.selectable(storedName(name));
    return {
      grants: async (name): Promise<MailboxGrant[] | undefined> => {
        const mailbox = selectable(name);
        if (!mailbox) return undefined;
        return [...this.grantsOn(mailbox)]
          .map(([identifier, rights]) => ({ identifier, rights }))
          .sort((a, b) => (a.identifier < b.identifier ? -1 : 1));
      },
      setGrant: async (name, identifier, rights) => {
        const mailbox = selectable(name);
        if (!mailbox) return 'nonexistent';
        const grantee = identifier.toLowerCase();
        if (grantee === me || !this.stores.has(grantee)) return 'no-such-account';
        if (rights === '') this.grantsOn(mailbox).delete(grantee);
        else this.grantsOn(mailbox).set(grantee, rights);
        return 'ok';
      },
      sharedWithMe: async (): Promise<SharedMailboxGrant[]> => {
        const shared: SharedMailboxGrant[] = [];
        for (const [owner, ownerStore] of [...this.stores].sort(([a], [b]) => (a < b ? -1 : 1))) {
          if (owner === me) continue;
          for (const mailbox of ownerStore.mailboxes) {
            const rights = mailbox.noselect ? undefined : this.grants.get(mailbox)?.get(me);
            if (rights) shared.push({ owner, name: mailbox.name, rights });
          }
        }
        return shared.sort((a, b) =>
          a.owner !== b.owner ? (a.owner < b.owner ? -1 : 1) : a.name < b.name ? -1 : 1,
        );
      },
      sharedMailbox: async (ownerInput, name) => {
        const owner = ownerInput.toLowerCase();
        const ownerStore = owner === me ? undefined : this.stores.get(owner);
        const mailbox = ownerStore?.selectable(storedName(name));
        const rights = mailbox && this.grants.get(mailbox)?.get(me);
        return rights ? { owner, rights, account: open(ownerStore!, owner) } : undefined;
      },
    };
  }
}
