import { AUTHORIZATION_OR_TRANSACTION, noArguments, pop3Command } from './context.js';

/**
 * QUIT (RFC 1939 §4, §6): in TRANSACTION it enters UPDATE and removes the messages marked
 * deleted; a connection that just ends never gets here, so nothing is removed then.
 */
export const quit = pop3Command({
  verb: 'QUIT',
  states: AUTHORIZATION_OR_TRANSACTION,
  parse: noArguments,
  async handle(_request, ctx) {
    if (ctx.state !== 'transaction')
      return { kind: 'ok', text: `${ctx.hostname} POP3 server signing off`, after: 'close' };
    ctx.enterUpdate();
    try {
      await ctx.storage.commitDeletions(ctx.maildrop.deletedIndexes());
    } catch {
      return { kind: 'err', text: '[SYS/TEMP] some deleted messages were not removed', after: 'close' };
    }
    const text = `${ctx.hostname} POP3 server signing off (${ctx.maildrop.left} messages left)`;
    return { kind: 'ok', text, after: 'close' };
  },
});
