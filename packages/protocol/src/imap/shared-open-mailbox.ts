// Another user's mailbox, opened through the "Other Users" namespace (shared-mailboxes.ts):
// the owner's OpenMailbox with each command checked against this user's rights as they are
// now (RFC 4314 §4), so a DELETEACL reaches a session that has the mailbox selected at its
// next command. Every member is listed: one added to OpenMailbox later is not let through
// unchecked (a compile error, or absent when optional).

import { changeableFlags, MailboxPermissionDenied, requireRights, rightForFlag } from './mailbox-rights.js';
import type {
  AppendMessage,
  CheckedStoreResult,
  CopyResult,
  FlagOperation,
  ImapAccount,
  MessageState,
  OpenMailbox,
  ReplaceResult,
} from './session-types.js';

/** Where COPY, MOVE and REPLACE may put messages, as the namespace resolves the target's name. */
export interface SharedTarget {
  readonly account: ImapAccount;
  /** The name in `account`'s own store. */
  readonly name: string;
  readonly rights: string;
  /** The same store as the source: the store copies within itself (one transaction). */
  readonly sameStore: boolean;
}

export interface SharedBoxAccess {
  /** The name as this user calls it ("Other Users/<owner>/<name>"). */
  readonly name: string;
  /** The rights when opened. */
  readonly rights: string;
  /** The rights now; throws MailboxPermissionDenied once they are gone. */
  current(): Promise<string>;
  /** A target of COPY, MOVE or REPLACE, checked for `i`; undefined when the user cannot see it. */
  target(name: string): Promise<SharedTarget | undefined>;
}

export function sharedOpenMailbox(inner: OpenMailbox, access: SharedBoxAccess): OpenMailbox {
  const readable = async () => requireRights(await access.current(), 'r');

  return {
    name: access.name,
    readOnly: inner.readOnly,
    rights: access.rights,
    ...(inner.mailboxId !== undefined && { mailboxId: inner.mailboxId }),
    ...(inner.sharing && { sharing: inner.sharing }),
    ...(inner.snapshotInHand && { snapshotInHand: () => inner.snapshotInHand!() }),
    snapshot: () => inner.snapshot(),
    // What a selected session learns after each command: nothing more once the rights are gone.
    async changesSince(modseq) {
      await readable();
      return inner.changesSince(modseq);
    },
    history: (modseq) => inner.history(modseq),
    async fetch(uids, needs) {
      await readable();
      return inner.fetch(uids, needs);
    },
    ...(inner.describe && {
      async describe(uids: readonly number[], header: boolean) {
        await readable();
        return inner.describe!(uids, header);
      },
    }),
    async search(criteria) {
      await readable();
      return inner.search(criteria);
    },
    async store(uids, operation, flags) {
      const rights = await access.current();
      return permittedStore(inner, rights, uids, operation, flags, (part, op, fs) =>
        inner.store(part, op, fs),
      );
    },
    async storeChecked(uids, operation, flags, unchangedSince) {
      const rights = await access.current();
      return permittedStore(inner, rights, uids, operation, flags, (part, op, fs) =>
        inner.storeChecked(part, op, fs, unchangedSince),
      );
    },
    async expunge(uids) {
      requireRights(await access.current(), 'e');
      return inner.expunge(uids);
    },
    async copy(uids, targetName, move): Promise<CopyResult> {
      // MOVE takes the messages away: \Deleted and EXPUNGE here (RFC 6851 §3.3 and RFC 4314).
      requireRights(await access.current(), move ? 'rte' : 'r');
      const target = await access.target(targetName);
      if (!target) return 'nonexistent';
      if (target.sameStore) return inner.copy(uids, target.name, move);
      return copyAcross(inner, uids, target, move);
    },
    async replace(uid: number, targetName: string, message: AppendMessage): Promise<ReplaceResult> {
      requireRights(await access.current(), 'rte');
      const target = await access.target(targetName);
      if (!target) return 'nonexistent';
      // REPLACE is one transaction of one store: not across accounts.
      if (!target.sameStore) throw new MailboxPermissionDenied('i');
      return inner.replace(uid, target.name, {
        ...message,
        flags: changeableFlags(target.rights, message.flags),
      });
    },
    watch: (listener) => inner.watch(listener),
    close: () => inner.close(),
  };
}

/**
 * STORE as far as the rights go (RFC 4314 §4): `s` for \Seen, `t` for \Deleted, `w` for
 * the rest. It fails only when none of the named flags may change ("STORE SHOULD NOT fail
 * if the user has rights to modify at least one flag"); the others are left as they are.
 * A FLAGS (replace) without every right keeps each message's flags the user may not change.
 */
async function permittedStore<Result extends MessageState | CheckedStoreResult>(
  inner: OpenMailbox,
  rights: string,
  uids: readonly number[],
  operation: FlagOperation,
  flags: readonly string[],
  store: (
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
  ) => Promise<readonly Result[]>,
): Promise<readonly Result[]> {
  const allowed = changeableFlags(rights, flags);
  if (flags.length > 0 && allowed.length === 0) throw new MailboxPermissionDenied(rightForFlag(flags[0]!));
  if (operation !== 'replace') return store(uids, operation, allowed);
  if (/s/.test(rights) && /w/.test(rights) && /t/.test(rights)) return store(uids, 'replace', flags);
  const byFlags = new Map<string, { flags: string[]; uids: number[] }>();
  for (const message of await inner.fetch(uids, { metadata: false, raw: false })) {
    const kept = message.flags.filter(
      (f) => f.toLowerCase() !== '\\recent' && !rights.includes(rightForFlag(f)),
    );
    const next = [...kept, ...allowed];
    const key = JSON.stringify([...next].sort());
    const group = byFlags.get(key) ?? { flags: next, uids: [] };
    group.uids.push(message.uid);
    byFlags.set(key, group);
  }
  const results: Result[] = [];
  for (const group of byFlags.values()) results.push(...(await store(group.uids, 'replace', group.flags)));
  return results.sort((a, b) => a.uid - b.uid);
}

/**
 * COPY or MOVE into another account's mailbox: the messages are stored there as APPEND
 * stores them (the target's quota, the flags the target's rights allow), then, for MOVE,
 * expunged here. Not one transaction across the two stores: a MOVE that fails after the
 * copy leaves the originals (with \Deleted), never loses a message.
 */
export async function copyAcross(
  source: OpenMailbox,
  uids: readonly number[],
  target: { readonly account: ImapAccount; readonly name: string; readonly rights: string },
  move: boolean,
): Promise<CopyResult> {
  const messages = (await source.fetch(uids, { metadata: false, raw: true })).filter((m) => m.raw);
  if (messages.length === 0) {
    const status = await target.account.status(target.name);
    return status ? { uidValidity: status.uidValidity, source: [], target: [] } : 'nonexistent';
  }
  const appended = await target.account.appendMessages(
    target.name,
    messages.map((m) => ({
      raw: m.raw!,
      flags: changeableFlags(
        target.rights,
        m.flags.filter((f) => f.toLowerCase() !== '\\recent'),
      ),
      internalDate: m.internalDate,
    })),
  );
  if (typeof appended === 'string') return appended;
  const copied = messages.map((m) => m.uid);
  if (move) {
    await source.store(copied, 'add', ['\\Deleted']);
    await source.expunge(copied);
  }
  return { uidValidity: appended.uidValidity, source: copied, target: appended.uids };
}
