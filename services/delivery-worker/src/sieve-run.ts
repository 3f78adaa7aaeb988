import {
  type CompiledSieve,
  type DuplicateMark,
  runSieve,
  type SieveAction,
  type SieveError,
  type SieveInput,
  type SieveResult,
} from '@tegami/protocol';

// Running a recipient's scripts: the domain's "before" script (Pigeonhole's sieve_before),
// then the user's own. The interpreter does no I/O, so what a run needs from the store
// (`duplicate`'s memory, RFC 7352) is asked between runs: run, look up the ids it asked
// about, run again with the answers, until it asks nothing new.

// A run asks about the ids its `duplicate` tests reach; a second run with those answered
// can take another branch and reach new ones. Three runs settle any sane script.
const MAX_RUNS = 3;

export interface SieveRunScripts {
  /** The domain's script run first (domains.sieve_before); null: none. */
  readonly before: CompiledSieve | null;
  /** The user's active script; null: none (or it did not compile). */
  readonly personal: CompiledSieve | null;
}

export interface SieveRunOutcome {
  /** The actions of both scripts in order, the implicit keep last when it stands. */
  readonly actions: readonly SieveAction[];
  /** The message as editheader left it; null: unchanged. */
  readonly editedMessage: Uint8Array | null;
  readonly duplicateMarks: readonly DuplicateMark[];
  /** Run-time errors, by which script had them (each then kept the message, RFC 5228 §2.10.6). */
  readonly errors: readonly { readonly script: 'before' | 'personal'; readonly error: SieveError }[];
}

/** Which of these duplicate ids the user's store has seen (and not expired). */
export type DuplicateLookup = (keys: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * Runs the before script, then the user's. Their keeps and fileintos add up; the implicit
 * keep is the last script's and stands only if no script before it cancelled its own (a
 * before script that filed spam into Junk keeps it out of INBOX); a `stop` in the before
 * script ends everything (the user's script does not run).
 */
export async function runSieveScripts(
  scripts: SieveRunScripts,
  input: Omit<SieveInput, 'seenBefore'>,
  lookupDuplicates: DuplicateLookup,
): Promise<SieveRunOutcome> {
  const answered = new Map<string, boolean>();
  const errors: { script: 'before' | 'personal'; error: SieveError }[] = [];
  const before = scripts.before && (await runUntilSettled(scripts.before, input, answered, lookupDuplicates));
  if (before?.error) errors.push({ script: 'before', error: before.error });
  if (!scripts.personal || (before && before.stopped === true)) {
    return {
      actions: before?.actions ?? [{ type: 'keep', flags: null, implicit: true }],
      editedMessage: before?.editedMessage ?? null,
      duplicateMarks: before?.duplicateMarks ?? [],
      errors,
    };
  }
  const personalInput = before?.editedMessage ? { ...input, message: before.editedMessage } : input;
  const personal = await runUntilSettled(scripts.personal, personalInput, answered, lookupDuplicates);
  if (personal.error) errors.push({ script: 'personal', error: personal.error });
  if (!before) {
    return {
      actions: personal.actions,
      editedMessage: personal.editedMessage,
      duplicateMarks: personal.duplicateMarks,
      errors,
    };
  }
  const beforeKept = before.actions.some((a) => a.type === 'keep' && a.implicit);
  const actions = [
    ...before.actions.filter((a) => !(a.type === 'keep' && a.implicit)),
    ...personal.actions.filter((a) => beforeKept || !(a.type === 'keep' && a.implicit)),
  ];
  return {
    actions,
    editedMessage: personal.editedMessage ?? before.editedMessage,
    duplicateMarks: [...before.duplicateMarks, ...personal.duplicateMarks],
    errors,
  };
}

/** One script, run again while its `duplicate` tests ask about ids not yet looked up. */
async function runUntilSettled(
  script: CompiledSieve,
  input: Omit<SieveInput, 'seenBefore'>,
  answered: Map<string, boolean>,
  lookupDuplicates: DuplicateLookup,
): Promise<SieveResult> {
  let result: SieveResult | undefined;
  for (let run = 0; run < MAX_RUNS; run++) {
    result = runSieve(script, { ...input, seenBefore: (key) => answered.get(key) ?? false });
    const unknown = result.duplicateChecks.filter((key) => !answered.has(key));
    if (unknown.length === 0) return result;
    const seen = await lookupDuplicates(unknown);
    for (const key of unknown) answered.set(key, seen.has(key));
  }
  // Still asking after MAX_RUNS: the last run, with every answer it could be given.
  return runSieve(script, { ...input, seenBefore: (key) => answered.get(key) ?? false });
}
