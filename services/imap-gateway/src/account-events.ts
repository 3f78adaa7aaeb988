import type { MailboxChanged } from '@tegami/bus';
import type { AccountEvent } from '@tegami/protocol';

// NOTIFY (RFC 5465) on the Postgres store: the account's bus events, from every replica and
// from delivery, turned into the AccountEvents the IMAP engine speaks, by mailbox name. A
// message event names only the mailbox id (delivery and POP publish no names), so the id's
// name comes from a map read from the store once and read again when an id is unknown or a
// mailbox was renamed. Events go out in the order they came, lookups or not.

export interface AccountEventSource {
  /** Subscribes to the account's bus events; returns the unsubscribe. */
  watch(listener: (event: MailboxChanged) => void): () => void;
  /** Every mailbox of the account: its id and its name now. */
  mailboxNames(): Promise<ReadonlyMap<string, string>>;
  /** The origin this session's own changes carry: their echo is not news (RFC 5465 §5 tells others). */
  readonly origin: string;
}

export function watchAccountEvents(
  source: AccountEventSource,
  listener: (event: AccountEvent) => void,
  onError: (err: unknown) => void = () => undefined,
): () => void {
  let names: ReadonlyMap<string, string> | undefined;
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;

  const nameOf = async (mailboxId: string): Promise<string | undefined> => {
    if (!names?.has(mailboxId)) names = await source.mailboxNames();
    return names.get(mailboxId);
  };

  const translate = async (event: MailboxChanged): Promise<AccountEvent | undefined> => {
    switch (event.kind) {
      case 'exists':
      case 'expunge':
      case 'flags': {
        const mailbox = event.name ?? (await nameOf(event.mailboxId));
        // A mailbox deleted meanwhile: its MailboxName event tells the rest.
        if (mailbox === undefined) return undefined;
        const change = event.kind === 'exists' ? 'new' : event.kind === 'expunge' ? 'expunge' : 'flags';
        return { kind: 'messages', mailbox, change };
      }
      case 'created':
      case 'deleted':
        // The map learns of it at the next unknown id; a stale name for a deleted id is never asked.
        if (event.kind === 'created') names = undefined;
        return event.name === undefined ? undefined : { kind: event.kind, mailbox: event.name };
      case 'renamed':
        names = undefined;
        return event.name === undefined || event.oldName === undefined
          ? undefined
          : { kind: 'renamed', mailbox: event.name, oldName: event.oldName };
      case 'subscription':
        return event.name === undefined || event.subscribed === undefined
          ? undefined
          : { kind: 'subscription', mailbox: event.name, subscribed: event.subscribed };
      case 'mailbox':
        return undefined;
    }
  };

  const unwatch = source.watch((event) => {
    if (event.origin !== undefined && event.origin === source.origin) return;
    queue = queue.then(async () => {
      if (stopped) return;
      try {
        const translated = await translate(event);
        if (translated && !stopped) listener(translated);
      } catch (err) {
        // The store could not be read: this event is lost, as a lost bus message would be.
        onError(err);
      }
    });
  });
  return () => {
    stopped = true;
    unwatch();
  };
}
