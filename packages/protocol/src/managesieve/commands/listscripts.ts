import { sieveString } from '../wire.js';
import { AUTHENTICATED, manageSieveCommand, noArguments, ok } from './context.js';

/** LISTSCRIPTS (RFC 5804 §2.7): every script by name, the active one marked ACTIVE. */
export const listscripts = manageSieveCommand({
  name: 'LISTSCRIPTS',
  states: AUTHENTICATED,
  parse: noArguments,
  async handle(_request, ctx) {
    const lines = (await ctx.scripts.list()).map((script) => {
      const name = sieveString(script.name);
      const tail = script.active ? ' ACTIVE\r\n' : '\r\n';
      return typeof name === 'string' ? `${name}${tail}` : Buffer.concat([name, Buffer.from(tail, 'latin1')]);
    });
    return ok('Listscripts completed', undefined, lines);
  },
});
