import {
  AUTHENTICATED,
  manageSieveCommand,
  no,
  ok,
  refusal,
  request,
  scriptNameArgument,
} from './context.js';

/** §4 number: 1*DIGIT, at most 4294967296. */
const MAX_NUMBER = 4_294_967_296;

/**
 * HAVESPACE (RFC 5804 §2.5): would a script this large under this name fit the user's
 * quota. A client asks before it uploads, and PUTSCRIPT checks again anyway.
 */
export const havespace = manageSieveCommand({
  name: 'HAVESPACE',
  states: AUTHENTICATED,
  parse(args) {
    const [nameWord, sizeWord, ...extra] = args;
    const name = scriptNameArgument(nameWord);
    if (!name.ok) return name;
    if (
      sizeWord?.type !== 'atom' ||
      !/^\d{1,10}$/.test(sizeWord.value) ||
      Number(sizeWord.value) > MAX_NUMBER
    )
      return refusal('HAVESPACE needs a script name and a size');
    if (extra.length > 0) return refusal('HAVESPACE takes a script name and a size');
    return request({ name: name.request, size: Number(sizeWord.value) });
  },
  async handle({ name, size }, ctx) {
    if (size > ctx.maxScriptBytes)
      return no(`scripts may be ${ctx.maxScriptBytes} octets at most`, 'QUOTA/MAXSIZE');
    const space = await ctx.scripts.haveSpace(name, size);
    if (space === 'maxsize')
      return no(`scripts may be ${ctx.maxScriptBytes} octets at most`, 'QUOTA/MAXSIZE');
    if (space === 'maxscripts') return no('you have as many scripts as you may keep', 'QUOTA/MAXSCRIPTS');
    return ok('Putscript would succeed');
  },
});
