// spamtest, spamtestplus and virustest (RFC 5235). The spam filter's verdict is a score
// and its threshold; the mapping is Pigeonhole's, linear with the threshold as its maximum
// value (sieve_spamtest_max_value): r = score / threshold clamped to [0, 1], spamtest =
// floor(9r + 1.001) (so score ≤ 0 is 1, "definitely not spam", and a score at or over the
// threshold is 10), :percent = floor(100r + 0.001): truncated, not rounded, the small
// addend only absorbing floating-point error (a score of 2.2 of 6 is 4 and 36%, where
// rounding would say 37%; 2.5 of 5 is 5, not 6). Not tested: "0" for both
// (RFC 5235 §3.2, §3.3). virustest is the scanner's 1–5, "0" when not scanned.

import type { BoundArguments } from './bind-arguments.js';
import type { ScriptContext } from './run-context.js';
import type { SieveTest } from './types.js';

export function spamRatio(score: number, threshold: number): number {
  if (!(threshold > 0)) return score >= threshold ? 1 : 0;
  return Math.min(1, Math.max(0, score / threshold));
}

export function spamtestValue(
  spam: { score: number; threshold: number } | null | undefined,
  percent: boolean,
): string {
  if (spam === null || spam === undefined || !Number.isFinite(spam.score)) return '0';
  const ratio = spamRatio(spam.score, spam.threshold);
  return String(percent ? Math.floor(100 * ratio + 0.001) : Math.floor(9 * ratio + 1.001));
}

export function testSpamtest(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const value = spamtestValue(ctx.state.input.spam, args.tags.has('percent'));
  return ctx.match(test, args, [value], [ctx.string(args.positional[0])]);
}

export function testVirustest(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const virus = ctx.state.input.virus;
  const value =
    virus === null || virus === undefined ? '0' : String(Math.min(5, Math.max(1, Math.round(virus))));
  return ctx.match(test, args, [value], [ctx.string(args.positional[0])]);
}
