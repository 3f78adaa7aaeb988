// editheader (RFC 5293): addheader puts a field first (or last with :last), deleteheader
// removes fields by name, index and value. The tests that follow see the edited header
// (§2); the result carries the edited message. Some fields may not be touched (§6,
// Pigeonhole's list): Received and Auto-Submitted are never deleted, and
// X-Sieve-Redirected-From is neither added nor deleted; such an edit is silently denied,
// as Pigeonhole only warns.

import { decodeEncodedWords } from '../mime/encoded-words.js';
import type { BoundArguments } from './bind-arguments.js';
import { matchValues } from './match-types.js';
import { encodeHeaderText } from './outgoing-message.js';
import type { ScriptContext } from './run-context.js';
import { isValidHeaderName } from './sieve-syntax.js';
import { type SieveCommand, SieveError } from './types.js';

const PROTECTED_FROM_DELETE = new Set(['received', 'auto-submitted', 'x-sieve-redirected-from']);
const PROTECTED_FROM_ADD = new Set(['x-sieve-redirected-from']);

/** Longest field addheader writes, name and value (Pigeonhole's sieve_editheader_max_header_size default, 2 KiB). */
export const MAX_ADDED_FIELD = 2048;

export function runEditHeader(ctx: ScriptContext, command: SieveCommand, args: BoundArguments): void {
  const name = ctx.string(args.positional[0]);
  if (!isValidHeaderName(name)) {
    throw new SieveError(
      `${command.name} action: specified field name '${name}' is invalid`,
      command.position,
      ctx.script,
    );
  }
  const message = ctx.state.message;
  if (command.name === 'addheader') {
    if (PROTECTED_FROM_ADD.has(name.toLowerCase())) return;
    const value = ctx.string(args.positional[1]);
    if (value.includes('\u0000') || name.length + value.length + 2 > MAX_ADDED_FIELD) {
      throw new SieveError(
        `addheader action: specified value is invalid or too long`,
        command.position,
        ctx.script,
      );
    }
    // Stored encoded, as it will be written: the tests that follow decode it back to the
    // value as given (text that looks like an encoded word stays literal, as in Pigeonhole).
    message.addField(name, encodeHeaderText(value), args.tags.has('last'));
    return;
  }
  if (PROTECTED_FROM_DELETE.has(name.toLowerCase())) return;
  let fields = message.named(name);
  const index = ctx.tagNumber(args, 'index');
  if (index !== null) {
    const at = args.tags.has('last') ? fields.length - index : index - 1;
    const field = fields[at];
    fields = field === undefined ? [] : [field];
  }
  const patterns = args.positional[1];
  const keys = patterns === null || patterns === undefined ? null : ctx.strings(patterns);
  const matchType = ctx.matchType(args);
  const comparator = ctx.comparator(args);
  for (const field of fields) {
    ctx.tick();
    if (keys !== null) {
      const value = decodeEncodedWords(field.value);
      if (!matchValues(matchType, comparator, [value], keys, ctx.ticker).matched) continue;
    }
    message.removeField(field);
  }
}
