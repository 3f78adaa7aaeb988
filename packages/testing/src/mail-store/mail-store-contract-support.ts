import type { ImapAccount, OpenMailbox, RecentRange } from '@tegami/protocol';

// What the mail store contract's suites share: how a store under test is reached, and
// small helpers over the ImapAccount interface. The suites use nothing else, so the same
// test runs unchanged against any implementation.

/** One user of the store under test, new for each test. */
export interface MailUser {
  /**
   * A session's view of the user's mail, as the gateway opens one per login. Sessions of
   * one user share the mail and wake each other's watchers.
   */
  session(): Promise<ImapAccount>;
  /** The most bytes the user's mailboxes may hold together; null for no limit. */
  setQuota(bytes: number | null): Promise<void>;
}

/**
 * Makes a user with the standard mailboxes (INBOX, Sent, Drafts, Trash, Junk, Archive) and
 * no messages, its address unused by any other test.
 */
export type NewMailUser = () => Promise<MailUser>;

/** A small message, distinct per `n`; `extra` header lines go before the body. */
export function mail(n: number, body = `body of message ${n}\r\n`, extra = ''): Buffer {
  return Buffer.from(
    `From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: note ${n}\r\n` +
      `Date: Mon, 2 Jun 2025 10:00:00 +0200\r\nMessage-ID: <${n}.contract@example.net>\r\n${extra}\r\n${body}`,
  );
}

/** Appends the messages in order; their UIDs. */
export async function appendAll(
  account: ImapAccount,
  mailbox: string,
  raws: readonly Buffer[],
  flags: readonly string[] = [],
): Promise<number[]> {
  const uids: number[] = [];
  for (const raw of raws) {
    const result = await account.append(mailbox, { raw, flags });
    if (typeof result === 'string') throw new Error(`append to ${mailbox}: ${result}`);
    uids.push(result.uid);
  }
  return uids;
}

export async function openOrFail(account: ImapAccount, name: string, readOnly = false): Promise<OpenMailbox> {
  const box = await account.open(name, readOnly);
  if (!box) throw new Error(`cannot open ${name}`);
  return box;
}

/** The UIDs among these that the range makes \Recent. */
export function recentOf(range: RecentRange, uids: readonly number[]): number[] {
  return uids.filter((uid) => uid >= range.from && uid < range.to);
}

/**
 * Resolves at the watcher's next call. A watcher never called fails the test by its
 * timeout: there is no "soon enough" here, only "woken".
 */
export function nextWake(box: OpenMailbox): { readonly woken: Promise<void>; readonly calls: () => number } {
  let calls = 0;
  let resolve!: () => void;
  const woken = new Promise<void>((r) => {
    resolve = r;
  });
  box.watch(() => {
    calls++;
    resolve();
  });
  return { woken, calls: () => calls };
}
