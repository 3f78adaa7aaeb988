import {
  AUTHENTICATED,
  manageSieveCommand,
  no,
  ok,
  refusal,
  request,
  scriptNameArgument,
} from './context.js';

/**
 * SETACTIVE (RFC 5804 §2.8): the script that runs at delivery from now on; the empty name
 * deactivates the one that was, and none runs.
 */
export const setactive = manageSieveCommand({
  name: 'SETACTIVE',
  states: AUTHENTICATED,
  parse(args) {
    const [word, ...extra] = args;
    if (extra.length > 0) return refusal('SETACTIVE takes one script name');
    if (word?.type === 'string' && word.value.length === 0) return request<string | null>(null);
    const name = scriptNameArgument(word);
    return name.ok ? request<string | null>(name.request) : name;
  },
  async handle(name, ctx) {
    if ((await ctx.scripts.activate(name)) === 'nonexistent')
      return no('there is no script by that name', 'NONEXISTENT');
    return ok(name === null ? 'No script is active now' : 'Setactive completed');
  },
});
