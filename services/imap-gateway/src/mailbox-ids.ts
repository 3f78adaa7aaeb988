// Which mailbox id a name of an account had when a session last opened it, for every
// session of this gateway process: with it, a SELECT can tell the store "the shelf holds a
// state of mailbox N as of MODSEQ m" before the store has found the name, and read only what
// changed since (openImapMailbox's `known`). A guess, never trusted: the store answers with
// what the name names now, so after a RENAME or DELETE + CREATE the guess is simply wrong
// and the SELECT reads a full snapshot as it would have anyway.

export class MailboxIds {
  private readonly ids = new Map<string, string>();

  constructor(
    /** Names held at most; past it the map starts afresh (each entry is a few dozen bytes). */
    private readonly max = 100_000,
  ) {}

  get(accountId: string, name: string): string | undefined {
    return this.ids.get(keyOf(accountId, name));
  }

  set(accountId: string, name: string, id: string): void {
    const key = keyOf(accountId, name);
    if (this.ids.get(key) === id) return;
    if (this.ids.size >= this.max) this.ids.clear();
    this.ids.set(key, id);
  }

  delete(accountId: string, name: string): void {
    this.ids.delete(keyOf(accountId, name));
  }
}

function keyOf(accountId: string, name: string): string {
  return `${accountId}\u0000${name}`;
}
