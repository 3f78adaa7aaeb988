import { capabilityLine } from '../wire.js';
import { ANY_STATE, manageSieveCommand, noArguments, ok } from './context.js';

/**
 * CAPABILITY (RFC 5804 §2.4). The capabilities come from the whole table (each command names
 * its own); this stands for those of the server rather than of one command.
 */
export const capability = manageSieveCommand({
  name: 'CAPABILITY',
  states: ANY_STATE,
  capabilities: (ctx) => [
    { name: 'IMPLEMENTATION', value: 'Tegami' },
    { name: 'VERSION', value: '1.0' },
    // §1.7: the user the session is logged in as, once it is.
    ...(ctx.identity ? [{ name: 'OWNER', value: ctx.identity.address }] : []),
  ],
  parse: noArguments,
  handle: (_request, ctx) => ok('Capability completed', undefined, capabilityLines(ctx)),
});

/** The capability response's lines (§1.7), as the greeting, CAPABILITY and STARTTLS send them. */
export function capabilityLines(ctx: {
  capabilities(): readonly { name: string; value?: string }[];
}): string[] {
  return ctx.capabilities().map(({ name, value }) => capabilityLine(name, value));
}
