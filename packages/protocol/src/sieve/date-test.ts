// date and currentdate (RFC 5260 §4, §5): a date from a header field, or the time of the
// run, seen in a zone (:zone, the header's own with :originalzone, else the run's zone),
// cut into the date part the script names, then matched.

import type { BoundArguments } from './bind-arguments.js';
import { headerDateForSieve, parseSieveZone, type SieveDate, sieveDatePart } from './date-parts.js';
import { indexed, type ScriptContext } from './run-context.js';
import type { SieveTest } from './types.js';

/** The zone to convert to: :zone when valid, else the run's own ("+0000" by default). */
function targetZone(ctx: ScriptContext, args: BoundArguments): number | null {
  const zone = ctx.tagString(args, 'zone');
  if (zone !== null) return parseSieveZone(zone);
  return parseSieveZone(ctx.state.input.zone ?? '+0000') ?? 0;
}

function matchDates(
  ctx: ScriptContext,
  test: SieveTest,
  args: BoundArguments,
  dates: readonly SieveDate[],
  part: string,
  keys: string[],
): boolean {
  const values: string[] = [];
  for (const date of dates) {
    const value = sieveDatePart(date, part);
    // An unknown date part makes the test fail (Pigeonhole warns at compile time).
    if (value === null) return false;
    values.push(value);
  }
  return ctx.match(test, args, values, keys);
}

export function testDate(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const name = ctx.string(args.positional[0]);
  const part = ctx.string(args.positional[1]);
  const original = args.tags.has('originalzone');
  const zone = original ? null : targetZone(ctx, args);
  if (!original && zone === null) return false;
  const dates: SieveDate[] = [];
  for (const value of indexed(ctx, args, ctx.state.message.headerValues(name))) {
    const date = headerDateForSieve(value, original, zone);
    if (date !== null) dates.push(date);
  }
  return matchDates(ctx, test, args, dates, part, ctx.strings(args.positional[2]));
}

export function testCurrentDate(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const zone = targetZone(ctx, args);
  if (zone === null) return false;
  const now: SieveDate = { epochMs: ctx.state.input.now.getTime(), zoneMinutes: zone };
  return matchDates(ctx, test, args, [now], ctx.string(args.positional[0]), ctx.strings(args.positional[1]));
}
