// The vacation action (RFC 5230, RFC 6131 :seconds): its arguments read into a
// VacationAction; no action when RFC 5230 §4.5/§4.6 and RFC 3834 say not to answer
// (vacationSuppressed). The reply period follows Pigeonhole's defaults: 7 days when not
// given, at least one day (sieve_vacation_min_period), no upper limit.

import { createHash } from 'node:crypto';
import type { BoundArguments } from './bind-arguments.js';
import type { ScriptContext } from './run-context.js';
import { extractSieveAddress } from './sieve-syntax.js';
import { type SieveCommand, SieveError, type VacationAction } from './types.js';
import { vacationSuppressed } from './vacation-reply.js';

export const DEFAULT_VACATION_SECONDS = 7 * 86_400;
export const MIN_VACATION_SECONDS = 86_400;

/** RFC 5230 §4.2: without :handle, replies with the same reason, subject, from and :mime are one. */
export function defaultVacationHandle(
  reason: string,
  subject: string | null,
  from: string | null,
  mime: boolean,
): string {
  return createHash('sha256')
    .update(JSON.stringify([reason, subject, from, mime]), 'utf8')
    .digest('hex');
}

export function runVacation(ctx: ScriptContext, command: SieveCommand, args: BoundArguments): void {
  const { input, message } = ctx.state;
  const reason = ctx.string(args.positional[0]);
  const subject = ctx.tagString(args, 'subject');
  const from = ctx.tagString(args, 'from');
  if (from !== null && extractSieveAddress(from) === null) {
    throw new SieveError(
      `specified :from address '${from}' is invalid for vacation action`,
      command.position,
      ctx.script,
    );
  }
  const mime = args.tags.has('mime');
  const addressesArgument = args.tags.get('addresses')?.value;
  const addresses =
    addressesArgument === undefined || addressesArgument === null ? [] : ctx.strings(addressesArgument);
  const days = ctx.tagNumber(args, 'days');
  const given = ctx.tagNumber(args, 'seconds') ?? (days === null ? null : days * 86_400);
  const seconds = given === null ? DEFAULT_VACATION_SECONDS : Math.max(MIN_VACATION_SECONDS, given);
  const suppressed = vacationSuppressed(
    message.raw,
    input.envelope.from,
    input.ownAddresses,
    addresses.map((address) => extractSieveAddress(address) ?? address),
  );
  if (suppressed !== null) {
    ctx.state.actions.vacation(null, command.position);
    return;
  }
  const first = (name: string): string | null => message.named(name)[0]?.value ?? null;
  const action: VacationAction = {
    type: 'vacation',
    to: input.envelope.from,
    from,
    subject,
    reason,
    mime,
    handle: ctx.tagString(args, 'handle') ?? defaultVacationHandle(reason, subject, from, mime),
    seconds,
    inReplyTo: first('message-id'),
    references: first('references'),
    originalSubject: first('subject'),
  };
  ctx.state.actions.vacation(action, command.position);
}
