import { checkSieveScript } from '../script-check.js';
import {
  AUTHENTICATED,
  type ManageSieveContext,
  type ManageSieveReply,
  manageSieveCommand,
  no,
  ok,
  refusal,
  request,
  scriptNameArgument,
} from './context.js';

function tooLarge(ctx: ManageSieveContext): ManageSieveReply {
  return no(`scripts may be ${ctx.maxScriptBytes} octets at most`, 'QUOTA/MAXSIZE');
}

/** OK, with the warnings (§1.3 WARNINGS) when there are any. */
function accepted(warnings: readonly string[], text: string): ManageSieveReply {
  return warnings.length === 0 ? ok(text) : ok(warnings.join('\r\n'), 'WARNINGS');
}

/**
 * PUTSCRIPT (RFC 5804 §2.6): the script is compiled before it is stored, and refused with
 * the compiler's words (line and column) when it does not compile; a script of that name is
 * replaced, an active one staying active.
 */
export const putscript = manageSieveCommand({
  name: 'PUTSCRIPT',
  states: AUTHENTICATED,
  capabilities: (ctx) => [
    { name: 'SIEVE', value: ctx.extensions.join(' ') },
    { name: 'MAXREDIRECTS', value: String(ctx.maxRedirects) },
    // §1.7: the notification methods enotify (RFC 5435) may use: mailto (RFC 5436) alone.
    ...(ctx.extensions.includes('enotify') ? [{ name: 'NOTIFY', value: 'mailto' }] : []),
  ],
  parse(args) {
    const [nameWord, script, ...extra] = args;
    const name = scriptNameArgument(nameWord);
    if (!name.ok) return name;
    if (script?.type !== 'string' || extra.length > 0)
      return refusal('PUTSCRIPT needs a script name and a script');
    return request({ name: name.request, script: script.value });
  },
  async handle({ name, script }, ctx) {
    if (script.length > ctx.maxScriptBytes) return tooLarge(ctx);
    const checked = await checkSieveScript(script, {
      extensions: ctx.extensions,
      maxScriptBytes: ctx.maxScriptBytes,
      scripts: ctx.scripts,
      name,
    });
    if (!checked.ok) return no(checked.problem);
    const stored = await ctx.scripts.put(name, checked.source);
    if (stored === 'maxsize') return tooLarge(ctx);
    if (stored === 'maxscripts') return no('you have as many scripts as you may keep', 'QUOTA/MAXSCRIPTS');
    return accepted(checked.warnings, 'Putscript completed');
  },
  oversized: tooLarge,
});

/** CHECKSCRIPT (§2.12): PUTSCRIPT's check, nothing stored. */
export const checkscript = manageSieveCommand({
  name: 'CHECKSCRIPT',
  states: AUTHENTICATED,
  parse(args) {
    const [script, ...extra] = args;
    if (script?.type !== 'string' || extra.length > 0) return refusal('CHECKSCRIPT needs a script');
    return request(script.value);
  },
  async handle(script, ctx) {
    if (script.length > ctx.maxScriptBytes) return tooLarge(ctx);
    const checked = await checkSieveScript(script, {
      extensions: ctx.extensions,
      maxScriptBytes: ctx.maxScriptBytes,
      scripts: ctx.scripts,
    });
    if (!checked.ok) return no(checked.problem);
    return accepted(checked.warnings, 'Script is valid');
  },
  oversized: tooLarge,
});
