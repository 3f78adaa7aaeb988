// What one NOTIFY SET (RFC 5465) asked for, and the untagged responses it turns account
// events into: STATUS for a mailbox other than the selected one whose messages changed
// (§5.2–5.3), LIST for one created, deleted or renamed (§5.4, OLDNAME from RFC 5258's
// extended data) or (un)subscribed (§5.5). The selected mailbox is told with the usual
// EXISTS / EXPUNGE / FETCH (pushSelected), as IDLE tells it. The session decides when the
// lines go out (session.ts: between commands, and during IDLE).

import type { ImapToken } from './command-tokens.js';
import type { ImapContext, NotifyPlan } from './commands/command-spec.js';
import { fetch } from './commands/fetch.js';
import { wireName } from './commands/mailbox-arguments.js';
import type { NotifyEvent, NotifyFilter } from './commands/notify-arguments.js';
import { MAILBOX_DELIMITER } from './mailbox-names.js';
import type { ViewUpdate } from './selected-mailbox.js';
import type { AccountEvent } from './session-types.js';

/** A filter other than SELECTED with its events, names decoded to stored form. */
export interface MailboxEventGroup {
  readonly filter: Exclude<NotifyFilter, { kind: 'selected' | 'selected-delayed' }>;
  readonly events: ReadonlySet<NotifyEvent>;
}

/** What the SELECTED or SELECTED-DELAYED filter asked for. */
export interface SelectedEvents {
  readonly events: ReadonlySet<NotifyEvent>;
  /** SELECTED: EXPUNGEs go out as soon as they happen; SELECTED-DELAYED holds them (RFC 5465 §6). */
  readonly immediateExpunges: boolean;
  /** MessageNew's fetch-att list: each new message is FETCHed with it. */
  readonly fetch?: ImapToken;
}

const MESSAGE_EVENTS: readonly NotifyEvent[] = ['MessageNew', 'MessageExpunge', 'FlagChange'];

export class MailboxNotifications implements NotifyPlan {
  readonly needsSubscriptions: boolean;

  constructor(
    /** undefined: no SELECTED filter, the selected mailbox is told only what RFC 3501 says. */
    readonly selected: SelectedEvents | undefined,
    /** In the command's order: the first whose filter matches a mailbox decides its events. */
    readonly groups: readonly MailboxEventGroup[],
  ) {
    this.needsSubscriptions = groups.some((g) => g.filter.kind === 'subscribed');
  }

  /** The events asked for a mailbox other than the selected one. */
  eventsFor(name: string, subscribed: ReadonlySet<string>): ReadonlySet<NotifyEvent> {
    for (const group of this.groups) {
      if (matches(group.filter, name, subscribed)) return group.events;
    }
    return new Set();
  }

  /** The untagged lines an account event makes, for a session whose context this is. */
  async responsesFor(event: AccountEvent, context: ImapContext): Promise<string[]> {
    const subscribed = await this.subscriptions(context);
    const selectedName = context.selected?.box.name;
    const utf8 = context.utf8;
    switch (event.kind) {
      case 'messages': {
        // The selected mailbox is told by pushSelected, never by STATUS (RFC 5465 §5.2).
        if (event.mailbox === selectedName) return [];
        const wanted: NotifyEvent =
          event.change === 'new'
            ? 'MessageNew'
            : event.change === 'expunge'
              ? 'MessageExpunge'
              : 'FlagChange';
        if (!this.eventsFor(event.mailbox, subscribed).has(wanted)) return [];
        const line = await this.statusLine(event.mailbox, context);
        return line ? [line] : [];
      }
      case 'created':
      case 'deleted':
      case 'renamed': {
        const hit =
          this.eventsFor(event.mailbox, subscribed).has('MailboxName') ||
          (event.kind === 'renamed' && this.eventsFor(event.oldName, subscribed).has('MailboxName'));
        if (!hit) return [];
        const attributes =
          event.kind === 'deleted' ? await this.deletedAttribute(event.mailbox, context) : '';
        const oldName = event.kind === 'renamed' ? ` ("OLDNAME" (${wireName(event.oldName, utf8)}))` : '';
        return [
          `* LIST (${attributes}) "${MAILBOX_DELIMITER}" ${wireName(event.mailbox, utf8)}${oldName}\r\n`,
        ];
      }
      case 'subscription': {
        if (!this.eventsFor(event.mailbox, subscribed).has('SubscriptionChange')) return [];
        const attributes = event.subscribed ? '\\Subscribed' : '';
        return [`* LIST (${attributes}) "${MAILBOX_DELIMITER}" ${wireName(event.mailbox, utf8)}\r\n`];
      }
    }
  }

  /** NOTIFY SET STATUS: a STATUS for every mailbox whose message events were asked for (RFC 5465 §3.1). */
  async initialStatus(context: ImapContext): Promise<string[]> {
    const mailboxes = await context.account.listMailboxes();
    const subscribed = new Set(mailboxes.filter((m) => m.subscribed).map((m) => m.name));
    const lines: string[] = [];
    for (const mailbox of mailboxes) {
      if (mailbox.noselect || mailbox.nonexistent || mailbox.name === context.selected?.box.name) continue;
      const events = this.eventsFor(mailbox.name, subscribed);
      if (!MESSAGE_EVENTS.some((e) => events.has(e))) continue;
      const line = await this.statusLine(mailbox.name, context);
      if (line) lines.push(line);
    }
    return lines;
  }

  /**
   * The selected mailbox changed: its news as IDLE tells it, minus what the SELECTED filter
   * did not ask for, and each new message FETCHed with MessageNew's attributes.
   */
  async pushSelected(context: ImapContext): Promise<void> {
    const selected = context.selected;
    const wanted = this.selected;
    if (!selected || !wanted) return;
    const largest = selected.largestUid();
    const update = await selected.sync(wanted.immediateExpunges);
    const told: ViewUpdate = wanted.events.has('FlagChange') ? update : { ...update, flags: [] };
    await context.announce(told);
    if (wanted.fetch && selected.largestUid() > largest) {
      // The FETCH command itself, on the new UIDs: the same answers a client's FETCH gets.
      const set: ImapToken = { type: 'atom', value: `${largest + 1}:*` };
      await fetch.run([set, wanted.fetch], context, { tag: '*', uid: true });
    }
  }

  /** A deleted mailbox with children stays as their \Noselect parent (RFC 3501 §6.3.4); otherwise it is gone. */
  private async deletedAttribute(name: string, context: ImapContext): Promise<string> {
    const mailboxes = await context.account.listMailboxes();
    return mailboxes.some((m) => m.name === name && m.noselect) ? '\\Noselect' : '\\NonExistent';
  }

  private async subscriptions(context: ImapContext): Promise<ReadonlySet<string>> {
    if (!this.needsSubscriptions) return new Set();
    const mailboxes = await context.account.listMailboxes();
    return new Set(mailboxes.filter((m) => m.subscribed).map((m) => m.name));
  }

  /**
   * RFC 5465 §5.2–5.3: MESSAGES, UIDNEXT and UIDVALIDITY, and UNSEEN (as Dovecot sends it:
   * what a client shows for a mailbox it has not open); HIGHESTMODSEQ too once CONDSTORE is on.
   */
  private async statusLine(name: string, context: ImapContext): Promise<string | undefined> {
    const status = await context.account.status(name);
    if (!status) return undefined;
    const modseq = context.condstore ? ` HIGHESTMODSEQ ${status.highestModseq}` : '';
    const counts = `MESSAGES ${status.messages} UIDNEXT ${status.uidNext} UIDVALIDITY ${status.uidValidity} UNSEEN ${status.unseen}`;
    return `* STATUS ${wireName(name, context.utf8)} (${counts}${modseq})\r\n`;
  }
}

function matches(
  filter: MailboxEventGroup['filter'],
  name: string,
  subscribed: ReadonlySet<string>,
): boolean {
  switch (filter.kind) {
    // Tegami delivers only to INBOX (no Sieve fileinto): it is the one inbox (RFC 5465 §6).
    case 'inboxes':
      return name === 'INBOX';
    case 'personal':
      return true;
    case 'subscribed':
      return subscribed.has(name);
    case 'subtree':
      return filter.names.some((n) => name === n || name.startsWith(`${n}${MAILBOX_DELIMITER}`));
    case 'mailboxes':
      return filter.names.includes(name);
  }
}
