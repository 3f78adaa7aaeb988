// The duplicate test (RFC 7352): whether a message with this unique id (the Message-ID, a
// header of the script's choice, or :uniqueid) was seen before under this :handle. The
// store answers through `seenBefore`; the run lists what it asked (duplicateChecks) and
// what to record (duplicateMarks, kept only when the run succeeds, §3).

import { createHash } from 'node:crypto';
import type { BoundArguments } from './bind-arguments.js';
import type { ScriptContext } from './run-context.js';

/** RFC 7352 §3.3 leaves the default to the implementation: 7 days, as SieveInput documents. */
export const DEFAULT_DUPLICATE_SECONDS = 7 * 86_400;

/** The key for one id under one handle: SHA-256, hex, of both (so ids of any length fit a column). */
export function duplicateKey(handle: string, id: string): string {
  return createHash('sha256').update(`${handle.length}:${handle}\u0000${id}`, 'utf8').digest('hex');
}

/**
 * Whether a Message-ID value holds a msg-id as Dovecot finds one: an "<" with an "@" before
 * the next ">" (`<a b@c>` passes, `<abc>` and `odd-id-without-brackets` do not).
 */
export function hasMsgId(value: string): boolean {
  return /<[^<>]*@[^<>]*>/.test(value);
}

export function testDuplicate(ctx: ScriptContext, args: BoundArguments): boolean {
  const state = ctx.state;
  let id: string | null = ctx.tagString(args, 'uniqueid');
  if (id === null) {
    const header = ctx.tagString(args, 'header');
    // The first field, as RFC 7352 §3.1 reads it; none: no id, never a duplicate.
    id = state.message.headerValues(header ?? 'message-id')[0] ?? null;
    if (id === null) return false;
    // The default id must be a msg-id (RFC 5322 §3.6.4): one that is not identifies nothing,
    // so, as in Pigeonhole, the test is false and nothing is recorded.
    if (header === null && !hasMsgId(id)) return false;
  }
  const handle = ctx.tagString(args, 'handle') ?? '';
  const key = duplicateKey(handle, id);
  const days = ctx.tagNumber(args, 'days');
  const seconds =
    ctx.tagNumber(args, 'seconds') ?? (days === null ? DEFAULT_DUPLICATE_SECONDS : days * 86_400);
  if (!state.duplicateChecks.includes(key)) state.duplicateChecks.push(key);
  // An id already marked in this run is a duplicate from then on.
  const markedNow = state.duplicateMarks.some((mark) => mark.key === key);
  const seen = markedNow || (state.input.seenBefore?.(key) ?? false);
  // Without :last a duplicate keeps its first expiry; with it every sighting renews it (§3.4).
  if (!seen || args.tags.has('last')) {
    const at = state.duplicateMarks.findIndex((mark) => mark.key === key);
    if (at >= 0) state.duplicateMarks.splice(at, 1);
    state.duplicateMarks.push({ key, seconds });
  }
  return seen;
}
