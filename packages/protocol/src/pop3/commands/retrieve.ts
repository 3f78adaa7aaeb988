import { type MessageNumber, messageNumber } from '../maildrop.js';
import { dotStuffedChunks, topOf } from '../wire.js';
import {
  err,
  type Pop3CommandContext,
  type Pop3Reply,
  pop3Command,
  refusal,
  request,
  TRANSACTION,
} from './context.js';

export interface RetrieveRequest {
  readonly message: MessageNumber;
  /** TOP: the body lines after the header; RETR: the whole message. */
  readonly lines?: number;
}

async function retrieve(ctx: Pop3CommandContext, req: RetrieveRequest): Promise<Pop3Reply> {
  const found = ctx.maildrop.find(req.message);
  if ('error' in found) return err(found.error);
  let raw: Uint8Array;
  try {
    raw = await ctx.storage.readMessage(found.index);
  } catch {
    return err('[SYS/TEMP] the message cannot be read now, try again later');
  }
  return req.lines === undefined
    ? {
        kind: 'message',
        text: `${ctx.maildrop.entries[found.index]!.size} octets`,
        body: dotStuffedChunks(raw),
      }
    : { kind: 'message', text: 'top of message follows', body: dotStuffedChunks(topOf(raw, req.lines)) };
}

/** RETR (RFC 1939 §5): the whole message, dot-stuffed. */
export const retr = pop3Command({
  verb: 'RETR',
  states: TRANSACTION,
  parse: (line) =>
    line.args.length === 1
      ? request<RetrieveRequest>({ message: messageNumber(line.args[0]) })
      : refusal('RETR needs a message number'),
  handle: (req, ctx) => retrieve(ctx, req),
});

/** TOP (RFC 1939 §7): the header and the first n body lines. */
export const top = pop3Command({
  verb: 'TOP',
  states: TRANSACTION,
  capabilities: () => ['TOP'],
  parse: (line) =>
    line.args.length === 2 && /^\d{1,9}$/.test(line.args[1]!)
      ? request<RetrieveRequest>({ message: messageNumber(line.args[0]), lines: Number(line.args[1]) })
      : refusal('TOP needs a message number and a line count'),
  handle: (req, ctx) => retrieve(ctx, req),
});
