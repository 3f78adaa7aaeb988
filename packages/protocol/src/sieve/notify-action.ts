// enotify (RFC 5435) with its one method, mailto (RFC 5436): the notify action and the
// valid_notify_method / notify_method_capability tests. Identical notifications are sent
// once (RFC 5435 §3.9: same method, the rest may differ only where it does not matter).

import type { BoundArguments } from './bind-arguments.js';
import { validMailtoUri } from './mailto-notification.js';
import type { ScriptContext } from './run-context.js';
import { extractSieveAddress } from './sieve-syntax.js';
import { type SieveCommand, SieveError, type SieveTest } from './types.js';

/** Whether Tegami can notify by this URI: a well-formed mailto: one. */
export function validNotifyMethod(uri: string): boolean {
  return validMailtoUri(uri);
}

export function runNotify(ctx: ScriptContext, command: SieveCommand, args: BoundArguments): void {
  const method = ctx.string(args.positional[0]);
  if (!validNotifyMethod(method)) {
    throw new SieveError(`notify action: invalid method '${method}'`, command.position, ctx.script);
  }
  const importanceText = ctx.tagString(args, 'importance') ?? '2';
  if (!['1', '2', '3'].includes(importanceText)) {
    throw new SieveError(
      `invalid :importance value for notify command: ${importanceText}`,
      command.position,
      ctx.script,
    );
  }
  const fromText = ctx.tagString(args, 'from');
  let from: string | null = null;
  if (fromText !== null) {
    if (extractSieveAddress(fromText) === null) {
      throw new SieveError(
        `specified :from address '${fromText}' is invalid for the notify action`,
        command.position,
        ctx.script,
      );
    }
    from = fromText;
  }
  const options = args.tags.get('options')?.value;
  ctx.state.actions.notify(
    {
      type: 'notify',
      method,
      from,
      importance: Number(importanceText) as 1 | 2 | 3,
      options: options === undefined || options === null ? [] : ctx.strings(options),
      message: ctx.tagString(args, 'message'),
    },
    command.position,
  );
}

export function testValidNotifyMethod(ctx: ScriptContext, args: BoundArguments): boolean {
  return ctx.strings(args.positional[0]).every(validNotifyMethod);
}

/**
 * RFC 5435 §5: one capability is defined, "online"; for mailto it is "maybe" (RFC 5436
 * §2.4: nothing says whether the recipient reads mail now). An unusable URI or another
 * capability makes the test false.
 */
export function testNotifyMethodCapability(
  ctx: ScriptContext,
  test: SieveTest,
  args: BoundArguments,
): boolean {
  const uri = ctx.string(args.positional[0]);
  const capability = ctx.string(args.positional[1]).toLowerCase();
  if (!validNotifyMethod(uri) || capability !== 'online') return false;
  return ctx.match(test, args, ['maybe'], ctx.strings(args.positional[2]));
}
