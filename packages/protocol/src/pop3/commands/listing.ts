import type { Pop3Maildrop } from '../maildrop.js';
import { type MessageNumber, messageNumber } from '../maildrop.js';
import { err, ok, type Pop3Reply, pop3Command, refusal, request, TRANSACTION } from './context.js';

/** LIST or UIDL: one message, or every message not marked deleted. */
export interface ListingRequest {
  readonly message: MessageNumber | undefined;
}

function parseListing(args: readonly string[]) {
  if (args.length > 1) return refusal('one message number at most');
  return request<ListingRequest>({ message: args[0] === undefined ? undefined : messageNumber(args[0]) });
}

function listing(
  maildrop: Pop3Maildrop,
  { message }: ListingRequest,
  value: (index: number) => string,
): Pop3Reply {
  if (message !== undefined) {
    const found = maildrop.find(message);
    return 'error' in found ? err(found.error) : ok(`${found.index + 1} ${value(found.index)}`);
  }
  const live = maildrop.live();
  return ok(
    `${live.length} messages`,
    live.map((i) => `${i + 1} ${value(i)}`),
  );
}

/** LIST (RFC 1939 §5): sizes as RETR sends them. */
export const list = pop3Command({
  verb: 'LIST',
  states: TRANSACTION,
  parse: (line) => parseListing(line.args),
  handle: (req, ctx) => listing(ctx.maildrop, req, (i) => String(ctx.maildrop.entries[i]!.size)),
});

/** UIDL (RFC 1939 §7): the unique ids that let a client leave mail on the server. */
export const uidl = pop3Command({
  verb: 'UIDL',
  states: TRANSACTION,
  capabilities: () => ['UIDL'],
  parse: (line) => parseListing(line.args),
  handle: (req, ctx) => listing(ctx.maildrop, req, (i) => ctx.maildrop.entries[i]!.uid),
});
