// Mailboxes one user shares with another (RFC 4314 ACL, RFC 2342 "Other Users" namespace):
// the one way into another account. A store that keeps ACLs (ImapAccount.sharing) gets its
// account wrapped here, so every command sees one set of names: its own, and
// "Other Users/<owner address>/<owner's name>" for what others granted it. Each operation
// on such a name resolves it to the owner's store and checks the rights first, in this
// module only: a command module cannot forget a check, nor can a future one.
//
// Two answers, on purpose: a mailbox the user may not even see (neither `l` nor `r`) is
// answered exactly as a name with no mailbox is (undefined, 'nonexistent'), so nobody can
// probe what others have or share; a mailbox the user sees but lacks the right for throws
// MailboxPermissionDenied, which the dispatcher answers `NO [NOPERM]`.

import { listParents } from './list-pattern.js';
import { MAILBOX_DELIMITER } from './mailbox-names.js';
import {
  ALL_RIGHTS,
  changeableFlags,
  MailboxPermissionDenied,
  requireRights,
  writableWith,
} from './mailbox-rights.js';
import type {
  AppendMessage,
  CopyResult,
  ImapAccount,
  MailboxGrant,
  MailboxInfo,
  OpenMailbox,
} from './session-types.js';
import { copyAcross, sharedOpenMailbox } from './shared-open-mailbox.js';

/** The "Other Users" namespace's prefix without its delimiter (NAMESPACE, RFC 2342 §5). */
export const OTHER_USERS = 'Other Users';

/** Where a name leads: the user's own mailbox, the namespace's own levels, or another's mailbox. */
export type MailboxPlace =
  | { readonly kind: 'own'; readonly name: string }
  /** "Other Users" or "Other Users/<owner>": levels of the namespace, never a mailbox. */
  | { readonly kind: 'namespace' }
  | { readonly kind: 'shared'; readonly owner: string; readonly name: string };

export function mailboxPlace(name: string): MailboxPlace {
  if (name !== OTHER_USERS && !name.startsWith(`${OTHER_USERS}${MAILBOX_DELIMITER}`))
    return { kind: 'own', name };
  const rest = name.slice(OTHER_USERS.length + MAILBOX_DELIMITER.length);
  const at = rest.indexOf(MAILBOX_DELIMITER);
  if (at <= 0 || at === rest.length - 1) return { kind: 'namespace' };
  return { kind: 'shared', owner: rest.slice(0, at), name: rest.slice(at + 1) };
}

export function sharedName(owner: string, name: string): string {
  return [OTHER_USERS, owner, name].join(MAILBOX_DELIMITER);
}

/** Another user's mailbox as reached: its owner's store and name there, and this user's rights. */
export interface ReachedMailbox {
  readonly owner: string;
  readonly name: string;
  readonly rights: string;
  readonly account: ImapAccount;
}

/** What ACL commands (commands/acl.ts) ask of a wrapped account. */
export interface AccountAcl {
  /** MYRIGHTS, LISTRIGHTS: whose the mailbox is and this user's rights; undefined when it cannot see it. */
  rights(name: string): Promise<{ readonly owner: string; readonly rights: string } | undefined>;
  /** GETACL (needs `a`): the owner with every right, then each grant. */
  acl(name: string): Promise<readonly MailboxGrant[] | undefined>;
  /**
   * SETACL, DELETEACL (needs `a`): an identifier's rights, from what it has now. 'owner':
   * the owner's own rights are all, always, and cannot change.
   */
  change(
    name: string,
    identifier: string,
    rights: (current: string) => string,
  ): Promise<'ok' | 'nonexistent' | 'no-such-account' | 'owner'>;
}

const acls = new WeakMap<ImapAccount, AccountAcl>();

/** The ACL of an account wrapped by withSharedMailboxes; undefined for a store without ACLs. */
export function accountAcl(account: ImapAccount): AccountAcl | undefined {
  return acls.get(account);
}

/** `l` or `r`: the user knows the mailbox is there (RFC 4314 §4, "the mailbox MUST NOT be visible" otherwise). */
const visible = (rights: string) => rights.includes('l') || rights.includes('r');

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The account, with the "Other Users" namespace and ACLs when its store keeps them. */
export function withSharedMailboxes(own: ImapAccount): ImapAccount {
  const sharing = own.sharing;
  if (!sharing || acls.has(own)) return own;

  /** Another's mailbox the user may see, or undefined: the same for "not shared" and "no such". */
  const reach = async (owner: string, name: string): Promise<ReachedMailbox | undefined> => {
    if (sameAddress(owner, own.address)) return undefined;
    const found = await sharing.sharedMailbox(owner, name);
    return found && visible(found.rights) ? { ...found, name } : undefined;
  };
  /** The same, refused NOPERM without the rights `need`. */
  const reachFor = async (owner: string, name: string, need: string) => {
    const found = await reach(owner, name);
    if (found) requireRights(found.rights, need);
    return found;
  };
  /** CREATE and RENAME's target (§4: `k` on the parent); a new top level of another user is never allowed. */
  const parentAllows = async (owner: string, name: string) => {
    const parent = listParents(name, MAILBOX_DELIMITER).at(-1);
    const reached = parent === undefined ? undefined : await reach(owner, parent);
    if (!reached) throw new MailboxPermissionDenied('k');
    requireRights(reached.rights, 'k');
    return reached;
  };

  const wrapOwnBox = (inner: OpenMailbox): OpenMailbox =>
    delegateWith(inner, {
      async copy(uids: readonly number[], target: string, move: boolean): Promise<CopyResult> {
        const place = mailboxPlace(target);
        if (place.kind === 'own') return inner.copy(uids, target, move);
        if (place.kind === 'namespace') return 'nonexistent';
        const reached = await reachFor(place.owner, place.name, 'i');
        return reached ? copyAcross(inner, uids, reached, move) : 'nonexistent';
      },
      async replace(uid: number, target: string, message: AppendMessage) {
        const place = mailboxPlace(target);
        if (place.kind === 'own') return inner.replace(uid, target, message);
        if (place.kind === 'shared' && (await reach(place.owner, place.name)))
          throw new MailboxPermissionDenied('i');
        return 'nonexistent';
      },
    });

  const wrapped: ImapAccount = delegateWith(own, {
    async listMailboxes(): Promise<readonly MailboxInfo[]> {
      const [mine, shared] = await Promise.all([own.listMailboxes(), sharing.sharedWithMe()]);
      const infos: MailboxInfo[] = mine.filter((m) => mailboxPlace(m.name).kind === 'own');
      for (const s of shared) {
        if (!s.rights.includes('l')) continue;
        // Listed as subscribed: SUBSCRIBE keeps no list of other users' names (see setSubscribed).
        infos.push({
          name: sharedName(s.owner, s.name),
          specialUse: null,
          subscribed: true,
          // Seen but not readable: LIST shows it as it shows a name that cannot be selected.
          ...(!s.rights.includes('r') && { noselect: true }),
        });
      }
      return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async createMailbox(name, specialUse) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.createMailbox(name, specialUse);
      // The namespace's levels are there already: CREATE of a child makes them as parents.
      if (place.kind === 'namespace') return 'exists';
      const parent = await parentAllows(place.owner, place.name);
      return parent.account.createMailbox(place.name, specialUse);
    },
    async deleteMailbox(name) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.deleteMailbox(name);
      if (place.kind === 'namespace') return 'nonexistent';
      const reached = await reachFor(place.owner, place.name, 'x');
      return reached ? reached.account.deleteMailbox(place.name) : 'nonexistent';
    },
    async renameMailbox(from, to) {
      const source = mailboxPlace(from);
      const target = mailboxPlace(to);
      if (source.kind === 'own' && target.kind === 'own') return own.renameMailbox(from, to);
      if (source.kind === 'namespace') return 'nonexistent';
      if (source.kind === 'own') throw new MailboxPermissionDenied('k');
      const reached = await reachFor(source.owner, source.name, 'x');
      if (!reached) return 'nonexistent';
      // RENAME moves a mailbox within its owner's store only: there is no moving one
      // between accounts (whose quota, whose ACL).
      if (target.kind !== 'shared' || !sameAddress(target.owner, reached.owner))
        throw new MailboxPermissionDenied('k');
      await parentAllows(reached.owner, target.name);
      return reached.account.renameMailbox(source.name, target.name);
    },
    async setSubscribed(name, subscribed) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.setSubscribed(name, subscribed);
      // Shared mailboxes are always listed subscribed; SUBSCRIBE and UNSUBSCRIBE of one the
      // user sees change nothing and succeed, as for a mailbox subscribed already.
      if (place.kind === 'shared' && (await reach(place.owner, place.name))) return 'ok';
      return 'nonexistent';
    },
    async status(name) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.status(name);
      if (place.kind === 'namespace') return undefined;
      const reached = await reachFor(place.owner, place.name, 'r');
      return reached?.account.status(place.name);
    },
    async getMetadata(mailbox, entries, depth) {
      const place = mailbox === null ? undefined : mailboxPlace(mailbox);
      if (!place || place.kind === 'own') return own.getMetadata(mailbox, entries, depth);
      // Annotations are the owner's (their /private ones especially): a grantee sees none.
      if (place.kind === 'shared' && (await reachFor(place.owner, place.name, 'r'))) return [];
      return 'nonexistent';
    },
    async setMetadata(mailbox, changes, maxEntries) {
      const place = mailbox === null ? undefined : mailboxPlace(mailbox);
      if (!place || place.kind === 'own') return own.setMetadata(mailbox, changes, maxEntries);
      if (place.kind === 'shared' && (await reach(place.owner, place.name)))
        throw new MailboxPermissionDenied('w');
      return 'nonexistent';
    },
    async open(name, readOnly) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') {
        const box = await own.open(name, readOnly);
        return box && wrapOwnBox(box);
      }
      if (place.kind === 'namespace') return undefined;
      const reached = await reachFor(place.owner, place.name, 'r');
      if (!reached) return undefined;
      // Without a right to change anything, SELECT is EXAMINE (RFC 4314 §4).
      const inner = await reached.account.open(place.name, readOnly || !writableWith(reached.rights));
      return (
        inner &&
        sharedOpenMailbox(inner, {
          name,
          rights: reached.rights,
          current: async () => {
            const now = await reach(reached.owner, place.name);
            if (!now) throw new MailboxPermissionDenied('r');
            return now.rights;
          },
          target: async (target) => {
            const targetPlace = mailboxPlace(target);
            if (targetPlace.kind === 'own')
              return { account: own, name: target, rights: ALL_RIGHTS, sameStore: false };
            if (targetPlace.kind === 'namespace') return undefined;
            const found = await reachFor(targetPlace.owner, targetPlace.name, 'i');
            return (
              found && {
                account: found.account,
                name: targetPlace.name,
                rights: found.rights,
                sameStore: sameAddress(found.owner, reached.owner),
              }
            );
          },
        })
      );
    },
    async append(name, message) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.append(name, message);
      if (place.kind === 'namespace') return 'nonexistent';
      const reached = await reachFor(place.owner, place.name, 'i');
      if (!reached) return 'nonexistent';
      // §4: flags the user may not set are dropped, the message is stored. Quota: the owner's.
      return reached.account.append(place.name, {
        ...message,
        flags: changeableFlags(reached.rights, message.flags),
      });
    },
    async appendMessages(name, messages) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.appendMessages(name, messages);
      if (place.kind === 'namespace') return 'nonexistent';
      const reached = await reachFor(place.owner, place.name, 'i');
      if (!reached) return 'nonexistent';
      return reached.account.appendMessages(
        place.name,
        messages.map((m) => ({ ...m, flags: changeableFlags(reached.rights, m.flags) })),
      );
    },
    async storedMessage(name, uidValidity, uid) {
      const place = mailboxPlace(name);
      if (place.kind === 'own') return own.storedMessage(name, uidValidity, uid);
      if (place.kind === 'namespace') return undefined;
      const reached = await reachFor(place.owner, place.name, 'r');
      return reached?.account.storedMessage(place.name, uidValidity, uid);
    },
  });

  acls.set(wrapped, {
    async rights(name) {
      const place = mailboxPlace(name);
      if (place.kind === 'namespace') return undefined;
      if (place.kind === 'own')
        return (await sharing.grants(name)) ? { owner: own.address, rights: ALL_RIGHTS } : undefined;
      const reached = await reach(place.owner, place.name);
      return reached && { owner: reached.owner, rights: reached.rights };
    },
    async acl(name) {
      const found = await ownerSide(name);
      if (!found) return undefined;
      const grants = await found.sharing.grants(found.name);
      return grants && [{ identifier: found.owner, rights: ALL_RIGHTS }, ...grants];
    },
    async change(name, identifier, rights) {
      const found = await ownerSide(name);
      if (!found) return 'nonexistent';
      if (sameAddress(identifier, found.owner)) return 'owner';
      const grants = await found.sharing.grants(found.name);
      if (!grants) return 'nonexistent';
      const current = grants.find((g) => sameAddress(g.identifier, identifier))?.rights ?? '';
      return found.sharing.setGrant(found.name, identifier, rights(current));
    },
  });

  /** The owner's ACL records of a mailbox, for GETACL and SETACL (§4: they need `a`). */
  async function ownerSide(name: string) {
    const place = mailboxPlace(name);
    if (place.kind === 'namespace') return undefined;
    if (place.kind === 'own') return { owner: own.address, name, sharing: sharing! };
    const reached = await reachFor(place.owner, place.name, 'a');
    const ownerSharing = reached?.account.sharing;
    return reached && ownerSharing && { owner: reached.owner, name: place.name, sharing: ownerSharing };
  }

  return wrapped;
}

/**
 * `inner` with some members replaced: every other member is the inner object's own (bound
 * to it), so a class instance keeps working and members added to the interface later reach
 * the user's own store unchanged. Never used for another user's mailbox: that one
 * (shared-open-mailbox.ts) lists each member, so a new one is not let through unchecked.
 */
function delegateWith<T extends object>(inner: T, overrides: Partial<T>): T {
  return new Proxy(inner, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
