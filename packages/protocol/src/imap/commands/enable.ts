// ENABLE (RFC 5161) of IMAP4rev2 (RFC 9051) and UTF8=ACCEPT (RFC 6855).

import { isAtom } from '../wire-values.js';
import { bad, defineCommand, LOGGED_IN, ok } from './command-spec.js';

export const enable = defineCommand({
  name: 'ENABLE',
  states: LOGGED_IN,
  capabilities: (view) => ({
    always: ['ENABLE'],
    now: view.state === 'not-authenticated' ? [] : ['UTF8=ACCEPT'],
  }),
  parse(args) {
    if (args.length === 0) return bad('ENABLE needs capabilities');
    // RFC 5161 §3: capability = atom. All are checked before any is enabled: a BAD command
    // has no effect.
    const names: string[] = [];
    for (const arg of args) {
      if (arg.type !== 'atom' || !isAtom(arg.value)) return bad('capability names are atoms');
      names.push(arg.value);
    }
    return names;
  },
  async handle(names, context) {
    const newly: string[] = [];
    for (const name of names) {
      const upper = name.toUpperCase();
      // Unknown capabilities are ignored (RFC 5161 §3.1).
      if ((upper === 'IMAP4REV2' || upper === 'UTF8=ACCEPT') && context.enable(upper)) newly.push(name);
    }
    await context.write(`* ENABLED${newly.map((n) => ` ${n}`).join('')}\r\n`);
    return ok('ENABLE completed');
  },
});
