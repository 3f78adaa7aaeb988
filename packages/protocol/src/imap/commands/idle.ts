// IDLE (RFC 2177): changes are pushed as they happen until the client says DONE.

import { bad, defineCommand, type ImapContext, LOGGED_IN, noArguments, ok } from './command-spec.js';

export const idle = defineCommand({
  name: 'IDLE',
  states: LOGGED_IN,
  capabilities: () => ({ always: ['IDLE'] }),
  parse: noArguments,
  async handle(_request, context) {
    await context.write('+ idling\r\n');
    const selected = context.selected;
    if (selected) await context.announce(await selected.sync(true)).catch(() => undefined);
    return {
      kind: 'dialogue',
      dialogue: {
        // RFC 2177: only DONE ends IDLE; anything else is an error, and IDLE ends.
        line: async (text) =>
          text !== undefined && text.toUpperCase() === 'DONE' ? ok('IDLE terminated') : bad('expected DONE'),
        changed: () => pushChanges(context),
      },
    };
  },
});

async function pushChanges(context: ImapContext): Promise<void> {
  const selected = context.selected;
  if (!selected) return;
  try {
    await context.announce(await selected.sync(true));
  } catch {
    // Seen at the next wake or command.
    selected.dirty = true;
  }
}
