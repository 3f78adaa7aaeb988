import {
  AUTHENTICATED,
  manageSieveCommand,
  no,
  ok,
  refusal,
  request,
  scriptNameArgument,
} from './context.js';

/** RENAMESCRIPT (RFC 5804 §2.11.1): an active script stays active under its new name. */
export const renamescript = manageSieveCommand({
  name: 'RENAMESCRIPT',
  states: AUTHENTICATED,
  parse(args) {
    if (args.length !== 2) return refusal('RENAMESCRIPT needs the old name and the new one');
    const oldName = scriptNameArgument(args[0]);
    if (!oldName.ok) return oldName;
    const newName = scriptNameArgument(args[1]);
    if (!newName.ok) return newName;
    return request({ oldName: oldName.request, newName: newName.request });
  },
  async handle({ oldName, newName }, ctx) {
    const renamed = await ctx.scripts.rename(oldName, newName);
    if (renamed === 'nonexistent') return no('there is no script by that name', 'NONEXISTENT');
    if (renamed === 'already-exists') return no('a script by the new name exists already', 'ALREADYEXISTS');
    return ok('Renamescript completed');
  },
});
