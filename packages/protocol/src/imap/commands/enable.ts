// ENABLE (RFC 5161) of IMAP4rev2 (RFC 9051), UTF8=ACCEPT (RFC 6855), CONDSTORE and QRESYNC
// (RFC 7162).

import { isAtom } from '../wire-values.js';
import { bad, defineCommand, type EnableableCapability, LOGGED_IN, ok } from './command-spec.js';

const ENABLEABLE: readonly EnableableCapability[] = ['IMAP4REV2', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC'];

export const enable = defineCommand({
  name: 'ENABLE',
  states: LOGGED_IN,
  capabilities: (view) => ({
    always: ['ENABLE'],
    now: view.state === 'not-authenticated' ? [] : ['UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC'],
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
    const condstoreBefore = context.condstore;
    for (const name of names) {
      const upper = name.toUpperCase() as EnableableCapability;
      // Unknown capabilities are ignored (RFC 5161 §3.1).
      if (ENABLEABLE.includes(upper) && context.enable(upper)) newly.push(name);
    }
    await context.write(`* ENABLED${newly.map((n) => ` ${n}`).join('')}\r\n`);
    // CONDSTORE turned on with a mailbox selected: its HIGHESTMODSEQ, which SELECT did not
    // give (RFC 7162 §3.1.2.1).
    if (!condstoreBefore && context.condstore && context.selected) {
      await context.write(`* OK [HIGHESTMODSEQ ${context.selected.highestModseq}] Highest\r\n`);
    }
    return ok('ENABLE completed');
  },
});
