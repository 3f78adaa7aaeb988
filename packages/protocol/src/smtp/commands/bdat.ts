import { reply } from '../reply.js';
import { envelopeOf, MessageBytes, NUL_REFUSED, TOO_BIG } from '../transaction.js';
import { command, syntax, words } from './arguments.js';
import { ANY_STATE, answer, close, refuse, smtpCommand } from './context.js';

/** `"BDAT" SP chunk-size [ SP end-marker ]` (RFC 3030 §2). */
export interface BdatRequest {
  readonly verb: 'BDAT';
  /** Octets that follow the command; a size past Number.MAX_SAFE_INTEGER is capped there. */
  readonly size: number;
  readonly last: boolean;
}

/**
 * BDAT (RFC 3030, CHUNKING). Valid in every state because its bytes follow whatever the
 * answer: they are read (and dropped) even when the command is refused.
 */
export const bdat = smtpCommand({
  verb: 'BDAT',
  states: ANY_STATE,
  ehloKeywords: () => ['CHUNKING'],
  parse(argument) {
    const [size, marker, ...extra] = words(argument);
    if (size === undefined || !/^\d+$/.test(size) || extra.length > 0) return syntax('BDAT size [LAST]');
    if (marker !== undefined && marker.toUpperCase() !== 'LAST') return syntax('BDAT size [LAST]');
    // A size too big to count is still a size: the session must read (and refuse) what follows.
    const octets = Math.min(Number(size), Number.MAX_SAFE_INTEGER);
    return command<BdatRequest>({ verb: 'BDAT', size: octets, last: marker !== undefined });
  },
  async handle({ size, last }, ctx) {
    const tx = ctx.transaction;
    if (!tx || tx.recipients.length === 0) {
      if ((await ctx.readChunk(size, undefined)) === 'eof') return close();
      return refuse(
        tx
          ? reply(554, '5.5.1', 'Error: no valid recipients')
          : reply(503, '5.5.1', 'Error: need MAIL command'),
      );
    }
    tx.chunks ??= new MessageBytes();
    const fits = !tx.chunkFailure && tx.chunkBytes + size <= ctx.config.maxMessageBytes;
    if ((await ctx.readChunk(size, fits ? tx.chunks : undefined)) === 'eof') return close();
    tx.chunkBytes += size;
    if (!fits) tx.chunkFailure ??= TOO_BIG;
    if (tx.chunks.hasNul) tx.chunkFailure ??= NUL_REFUSED;
    if (!last) return answer(tx.chunkFailure ?? reply(250, '2.0.0', `${size} octets received`));
    ctx.transaction = undefined;
    if (tx.chunkFailure) return answer(tx.chunkFailure);
    return answer(await ctx.policy.deliver(ctx.client, envelopeOf(tx), tx.chunks.bytes()));
  },
});
