import { AUTHENTICATED, manageSieveCommand, no, ok, refusal, scriptNameArgument } from './context.js';

/** GETSCRIPT (RFC 5804 §2.9): the script as it was put, byte for byte, as a literal. */
export const getscript = manageSieveCommand({
  name: 'GETSCRIPT',
  states: AUTHENTICATED,
  parse: (args) =>
    args.length > 1 ? refusal('GETSCRIPT takes one script name') : scriptNameArgument(args[0]),
  async handle(name, ctx) {
    const content = await ctx.scripts.get(name);
    if (content === undefined) return no('there is no script by that name', 'NONEXISTENT');
    const octets = Buffer.from(content, 'utf8');
    const literal = Buffer.concat([
      Buffer.from(`{${octets.length}}\r\n`, 'latin1'),
      octets,
      Buffer.from('\r\n'),
    ]);
    return ok('Getscript completed', undefined, [literal]);
  },
});
