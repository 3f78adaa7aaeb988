import { AUTHENTICATED, manageSieveCommand, no, ok, refusal, scriptNameArgument } from './context.js';

/** DELETESCRIPT (RFC 5804 §2.10): never the active script (§2.10: deactivate it first). */
export const deletescript = manageSieveCommand({
  name: 'DELETESCRIPT',
  states: AUTHENTICATED,
  parse: (args) =>
    args.length > 1 ? refusal('DELETESCRIPT takes one script name') : scriptNameArgument(args[0]),
  async handle(name, ctx) {
    const deleted = await ctx.scripts.delete(name);
    if (deleted === 'nonexistent') return no('there is no script by that name', 'NONEXISTENT');
    if (deleted === 'active') return no('the active script cannot be deleted', 'ACTIVE');
    return ok('Deletescript completed');
  },
});
