// The tests (RFC 5228 §5 and the extensions' own): each answers true or false, and a
// successful :matches/:regex leaves its match variables behind.

import { type AddressPart, addressPart, type SieveAddress, splitAddress } from './address-parts.js';
import type { BoundArguments } from './bind-arguments.js';
import { testBody } from './body-test.js';
import { OCTET_COMPARATOR } from './comparators.js';
import { testCurrentDate, testDate } from './date-test.js';
import { testDuplicate } from './duplicate-test.js';
import { testHasFlag } from './imap4flags.js';
import { testNotifyMethodCapability, testValidNotifyMethod } from './notify-action.js';
import { indexed, type ScriptContext } from './run-context.js';
import { testSpamtest, testVirustest } from './spam-tests.js';
import type { SieveTest } from './types.js';

export function evaluateTest(ctx: ScriptContext, test: SieveTest): boolean {
  ctx.tick();
  switch (test.name) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'not':
      return !evaluateTest(ctx, test.tests[0]!);
    case 'allof':
      return test.tests.every((inner) => evaluateTest(ctx, inner));
    case 'anyof':
      return test.tests.some((inner) => evaluateTest(ctx, inner));
  }
  const args = ctx.args(test, true);
  switch (test.name) {
    case 'header':
      return ctx.match(test, args, headerValues(ctx, args), ctx.strings(args.positional[1]));
    case 'address':
      return matchAddresses(ctx, test, args, headerAddressList(ctx, args));
    case 'envelope':
      return testEnvelope(ctx, test, args);
    case 'exists':
      return ctx.strings(args.positional[0]).every((name) => ctx.state.message.named(name).length > 0);
    case 'size': {
      const over = ctx.tagNumber(args, 'over');
      const size = ctx.state.message.size;
      return over !== null ? size > over : size < (ctx.tagNumber(args, 'under') ?? 0);
    }
    case 'string': {
      // RFC 5229 §5: :count counts the non-empty source strings. Pigeonhole compares with
      // i;octet unless told otherwise (not RFC 5228's i;ascii-casemap): so do we.
      const sources = ctx.strings(args.positional[0]);
      const values = ctx.matchType(args).kind === 'count' ? sources.filter((s) => s !== '') : sources;
      return ctx.match(test, args, values, ctx.strings(args.positional[1]), OCTET_COMPARATOR);
    }
    case 'environment': {
      // RFC 5183 §4: an item the environment does not have makes the test false.
      const value = ctx.state.input.environment[ctx.string(args.positional[0]).toLowerCase()];
      if (value === undefined) return false;
      return ctx.match(test, args, [value], ctx.strings(args.positional[1]));
    }
    case 'body':
      return testBody(ctx, test, args);
    case 'date':
      return testDate(ctx, test, args);
    case 'currentdate':
      return testCurrentDate(ctx, test, args);
    case 'hasflag':
      return testHasFlag(ctx, test, args);
    case 'spamtest':
      return testSpamtest(ctx, test, args);
    case 'virustest':
      return testVirustest(ctx, test, args);
    case 'duplicate':
      return testDuplicate(ctx, args);
    case 'mailboxexists': {
      const exists = ctx.state.input.mailboxExists;
      return ctx.strings(args.positional[0]).every((name) => exists?.(name) ?? false);
    }
    case 'valid_notify_method':
      return testValidNotifyMethod(ctx, args);
    case 'notify_method_capability':
      return testNotifyMethodCapability(ctx, test, args);
    default:
      return false;
  }
}

function headerValues(ctx: ScriptContext, args: BoundArguments): string[] {
  const message = ctx.state.message;
  return ctx.strings(args.positional[0]).flatMap((name) => indexed(ctx, args, message.headerValues(name)));
}

function headerAddressList(ctx: ScriptContext, args: BoundArguments): SieveAddress[] {
  const message = ctx.state.message;
  return ctx
    .strings(args.positional[0])
    .flatMap((name) => indexed(ctx, args, message.named(name)).flatMap((field) => message.addresses(field)));
}

function addressPartOf(args: BoundArguments): AddressPart {
  for (const part of ['localpart', 'domain', 'user', 'detail'] as const) if (args.tags.has(part)) return part;
  return 'all';
}

/** :count counts the addresses (RFC 5231 §4.2); other match types compare the chosen part. */
function matchAddresses(
  ctx: ScriptContext,
  test: SieveTest,
  args: BoundArguments,
  addresses: SieveAddress[],
): boolean {
  const part = addressPartOf(args);
  const keys = ctx.strings(args.positional[1]);
  if (ctx.matchType(args).kind === 'count') {
    return ctx.match(
      test,
      args,
      addresses.map(() => ''),
      keys,
    );
  }
  const values = addresses.map((address) => addressPart(address, part)).filter((value) => value !== null);
  return ctx.match(test, args, values, keys);
}

function testEnvelope(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const envelope = ctx.state.input.envelope;
  const part = addressPartOf(args);
  const values: string[] = [];
  let count = 0;
  for (const name of ctx.strings(args.positional[0])) {
    const text =
      name.toLowerCase() === 'from'
        ? envelope.from
        : name.toLowerCase() === 'to'
          ? envelope.to
          : envelope.auth;
    if (text === null || text === undefined) continue;
    count++;
    // RFC 5228 §5.4: the null reverse-path is the empty string whatever the address part.
    if (text === '') {
      values.push('');
      continue;
    }
    const value = addressPart(splitAddress(text), part);
    if (value !== null) values.push(value);
  }
  if (ctx.matchType(args).kind === 'count') {
    return ctx.match(
      test,
      args,
      Array.from({ length: count }, () => ''),
      ctx.strings(args.positional[1]),
    );
  }
  return ctx.match(test, args, values, ctx.strings(args.positional[1]));
}
