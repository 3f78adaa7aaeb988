// NOTIFY (RFC 5465): which changes of which mailboxes the server tells the client unasked,
// between commands and during IDLE. The arguments are parsed in notify-arguments.ts; the
// responses are made in mailbox-notifications.ts; the session sends them (session.ts).
//
// Not offered, refused with NO [BADEVENT (the events offered)]: AnnotationChange (no
// per-message annotations), MailboxMetadataChange and ServerMetadataChange (METADATA
// changes are not on the bus), and any event-ext. NOTIFICATIONOVERFLOW: see notify-delivery.ts.

import { canonicalName } from '../mailbox-names.js';
import {
  type MailboxEventGroup,
  MailboxNotifications,
  type SelectedEvents,
} from '../mailbox-notifications.js';
import { defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { decodeName } from './mailbox-arguments.js';
import { type NotifyEvent, type NotifyGroup, type NotifyRequest, parseNotify } from './notify-arguments.js';

/** The events this server sends, in RFC 5465's order: what BADEVENT lists. */
export const SUPPORTED_NOTIFY_EVENTS: readonly NotifyEvent[] = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'MailboxName',
  'SubscriptionChange',
];

export const notify = defineCommand({
  name: 'NOTIFY',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['NOTIFY'] }),
  parse: (args): NotifyRequest | ImapReply => parseNotify(args),
  async handle(request, context) {
    if (request.kind === 'none') {
      context.notify(undefined);
      return ok('NOTIFY completed');
    }
    const refused = request.groups.flatMap((g) => [
      ...g.events.filter((e) => !SUPPORTED_NOTIFY_EVENTS.includes(e)),
      ...g.unknown,
    ]);
    // RFC 5465 §3.1: nothing changes when the command is refused.
    if (refused.length > 0) {
      return no(
        `[BADEVENT (${SUPPORTED_NOTIFY_EVENTS.join(' ')})] not supported: ${[...new Set(refused)].join(' ')}`,
      );
    }
    if (!context.account.watchAccount) return no('[UNAVAILABLE] notifications are not available');
    const notifications = resolve(request.groups, context.utf8);
    if (notifications instanceof ImapReply) return notifications;
    if (request.status) {
      const lines = await notifications.initialStatus(context);
      if (lines.length > 0) await context.write(lines.join(''));
    }
    context.notify(notifications);
    return ok('NOTIFY completed');
  },
});

/** The groups with their mailbox names decoded, or the NO for a name that does not decode. */
function resolve(groups: readonly NotifyGroup[], utf8: boolean): MailboxNotifications | ImapReply {
  let selected: SelectedEvents | undefined;
  const others: MailboxEventGroup[] = [];
  for (const group of groups) {
    const events = new Set(group.events);
    const { filter } = group;
    if (filter.kind === 'selected' || filter.kind === 'selected-delayed') {
      // (SELECTED NONE) is as if no SELECTED filter were given: RFC 3501's rules as before.
      if (events.size === 0) continue;
      selected = {
        events,
        immediateExpunges: filter.kind === 'selected',
        ...(group.fetch && { fetch: group.fetch }),
      };
      continue;
    }
    if (filter.kind === 'subtree' || filter.kind === 'mailboxes') {
      const names: string[] = [];
      for (const wire of filter.names) {
        const name = decodeName(wire, utf8);
        if (name instanceof ImapReply) return name;
        names.push(canonicalName(name));
      }
      others.push({ filter: { kind: filter.kind, names }, events });
    } else others.push({ filter: { kind: filter.kind }, events });
  }
  return new MailboxNotifications(selected, others);
}
