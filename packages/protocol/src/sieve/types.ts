// The shapes every part of the Sieve implementation shares: the syntax tree the parser
// produces (RFC 5228 §8 grammar, nothing extension-specific), what a run is given (the
// message, its envelope, the environment: no I/O, so the same script on the same input
// gives the same actions everywhere), and what it answers (the actions, in order).

/** Where in the script a token starts: 1-based, columns counted in characters. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A compile-time or run-time error, with the place in the script it refers to. */
export class SieveError extends Error {
  constructor(
    readonly reason: string,
    readonly position: SourcePosition | null,
    /** The script it happened in: null for the script being run, a name for an include. */
    readonly script: string | null = null,
  ) {
    super(
      position === null
        ? `${script === null ? '' : `${script}: `}${reason}`
        : `${script === null ? '' : `${script}: `}line ${position.line}, column ${position.column}: ${reason}`,
    );
    this.name = 'SieveError';
  }
}

// ---- The syntax tree (RFC 5228 §8.2/§8.3): generic, so extensions need no parser change.

export type SieveArgument =
  | {
      readonly kind: 'strings';
      /** The strings, multi-line ones dot-unstuffed, escapes in quoted ones resolved. */
      readonly values: readonly string[];
      /** Written as one string, not a bracketed list (some arguments must be a single string). */
      readonly single: boolean;
      readonly position: SourcePosition;
    }
  | {
      readonly kind: 'number';
      /** With the K/M/G quantifier applied (RFC 5228 §2.4.1). */
      readonly value: number;
      readonly position: SourcePosition;
    }
  | {
      readonly kind: 'tag';
      /** Lower-cased, without the colon: `:contains` is `contains`. */
      readonly name: string;
      readonly position: SourcePosition;
    };

export interface SieveTest {
  /** Lower-cased identifier (`header`, `allof`). */
  readonly name: string;
  readonly arguments: readonly SieveArgument[];
  /** The tests of a test list (`allof (…)`, `not …`). */
  readonly tests: readonly SieveTest[];
  readonly position: SourcePosition;
}

export interface SieveCommand {
  /** Lower-cased identifier (`if`, `fileinto`). */
  readonly name: string;
  readonly arguments: readonly SieveArgument[];
  /** The test (or tests, `if`/`elsif` have one) written before the block. */
  readonly tests: readonly SieveTest[];
  /** The `{ … }` block, or null when the command ends with `;`. */
  readonly block: readonly SieveCommand[] | null;
  readonly position: SourcePosition;
}

export interface SieveScriptAst {
  readonly commands: readonly SieveCommand[];
}

// ---- Compiling: parse + validate (`require`, known commands and tests, argument shapes).

export interface SieveCompileOptions {
  /** The extensions a script may require; default: every extension Tegami implements. */
  readonly extensions?: ReadonlySet<string>;
  /** Longest script accepted, in UTF-8 bytes (default 1 MiB, as Pigeonhole's sieve_max_script_size). */
  readonly maxScriptBytes?: number;
  /**
   * The scripts `include` (RFC 6609) may name, looked up when the script is compiled for a
   * run: `personal` are the user's own scripts, `global` the administrator's. Null: none by
   * that name, a compile error at the include unless `:optional` (as Pigeonhole's). Omitted
   * (ManageSieve's PUTSCRIPT/CHECKSCRIPT): include targets are not looked
   * up, only their names checked; a missing one is a run-time error (so scripts may be
   * uploaded in any order), unless `:optional`.
   */
  readonly include?: (location: 'personal' | 'global', name: string) => string | null;
  /** Deepest include nesting (default 10, as Pigeonhole's sieve_include_max_nesting_depth). */
  readonly maxIncludeDepth?: number;
}

/** A script ready to run, compiled once and run for many messages (callers cache it). */
export interface CompiledSieve {
  readonly ast: SieveScriptAst;
  /** The extensions the script (and the scripts it includes) requires. */
  readonly requires: ReadonlySet<string>;
  /** Included scripts, compiled, by `${location}:${name}`; absent: not found. */
  readonly includes: ReadonlyMap<string, CompiledSieve>;
}

// ---- Running.

export interface SieveEnvelope {
  /** MAIL FROM, without angle brackets; '' for the null sender `<>`. */
  readonly from: string;
  /** The recipient this delivery is for, as the sender wrote it (`user+tag@domain`). */
  readonly to: string;
  /** The authenticated submitter (RFC 5228 §5.4 `envelope "auth"`), if any. */
  readonly auth?: string | null;
}

export interface SieveLimits {
  /** Commands and tests evaluated before the run stops with an error (default 1,000,000). */
  readonly maxSteps?: number;
  /** Redirects one run may make (default 4, as Pigeonhole's sieve_max_redirects). */
  readonly maxRedirects?: number;
  /** Actions one run may make, implicit keep aside (default 32, as Pigeonhole's sieve_max_actions). */
  readonly maxActions?: number;
}

export interface SieveInput {
  /** The message as it is delivered: Return-Path and Delivered-To lines, then the message. */
  readonly message: Uint8Array;
  readonly envelope: SieveEnvelope;
  /**
   * RFC 5183 items by name: `domain`, `host`, `location` ("MDA"), `name` ("Tegami"),
   * `phase` ("during"), `remote-host`, `remote-ip`, `version`. Absent items test false.
   */
  readonly environment: Readonly<Record<string, string>>;
  /** `currentdate` (RFC 5260) and vacation's clock. */
  readonly now: Date;
  /** The zone `currentdate` answers in, as "+hhmm"/"-hhmm" (default "+0000"). */
  readonly zone?: string;
  /** The user's own addresses, for vacation's "was I addressed" check (RFC 5230 §4.5). */
  readonly ownAddresses: readonly string[];
  /** The spam filter's verdict, for spamtest (RFC 5235): its score and its spam threshold. */
  readonly spam?: { readonly score: number; readonly threshold: number } | null;
  /** The virus scanner's verdict, 1–5 as RFC 5235 §3.3 defines them; null/absent: not scanned. */
  readonly virus?: number | null;
  /**
   * duplicate (RFC 7352): whether this unique id (already hashed with the handle) was
   * recorded as seen for this user and has not expired. Synchronous: the caller runs the
   * script, collects `duplicateChecks`, looks them up, and runs again with the answers.
   */
  readonly seenBefore?: (key: string) => boolean;
  /** mailboxexists (RFC 5490): whether the user has this mailbox. Absent: none exist. */
  readonly mailboxExists?: (name: string) => boolean;
  readonly limits?: SieveLimits;
}

/** The flags of a keep or fileinto (imap4flags, RFC 5232); null: no flag action applied. */
export type SieveFlags = readonly string[] | null;

export interface VacationAction {
  readonly type: 'vacation';
  /** Envelope recipient of the reply: the sender of the message (RFC 5230 §4.5). */
  readonly to: string;
  /** :from, or null for the user's own address. */
  readonly from: string | null;
  /** :subject, or null for "Auto: " + the original Subject (RFC 5230 §4.7). */
  readonly subject: string | null;
  readonly reason: string;
  /** :mime: `reason` is a MIME entity (headers, blank line, body). */
  readonly mime: boolean;
  /** :handle, or the one RFC 5230 §4.2 derives from the arguments. */
  readonly handle: string;
  /** How long to stay silent to this sender afterwards (:days or :seconds), in seconds. */
  readonly seconds: number;
  /** The original's Message-ID and References, for the reply's In-Reply-To/References. */
  readonly inReplyTo: string | null;
  readonly references: string | null;
  readonly originalSubject: string | null;
}

export type SieveAction =
  /** File into the INBOX. `implicit`: the script did not cancel the implicit keep. */
  | { readonly type: 'keep'; readonly flags: SieveFlags; readonly implicit: boolean }
  | {
      readonly type: 'fileinto';
      readonly mailbox: string;
      readonly flags: SieveFlags;
      /** :create (RFC 5490): make the mailbox when it does not exist. */
      readonly create: boolean;
      readonly copy: boolean;
    }
  | { readonly type: 'redirect'; readonly address: string; readonly copy: boolean }
  | { readonly type: 'discard' }
  /** reject / ereject (RFC 5429): after acceptance both become a message back to the sender. */
  | { readonly type: 'reject'; readonly reason: string; readonly extended: boolean }
  | VacationAction
  /** enotify (RFC 5435) with the mailto method (RFC 5436). */
  | {
      readonly type: 'notify';
      readonly method: string;
      readonly from: string | null;
      readonly importance: 1 | 2 | 3;
      readonly options: readonly string[];
      readonly message: string | null;
    };

export interface DuplicateMark {
  /** The hashed id, as given to `seenBefore`. */
  readonly key: string;
  /** How long it stays recorded, in seconds (RFC 7352 :seconds/:days; default 7 days). */
  readonly seconds: number;
}

export interface SieveResult {
  /**
   * The actions to perform, in script order, the implicit keep last when it stands. After a
   * run-time error this is just an implicit keep (RFC 5228 §2.10.6), with `error` set.
   */
  readonly actions: readonly SieveAction[];
  /** The message as editheader (RFC 5293) left it, for keep/fileinto/redirect; null: unchanged. */
  readonly editedMessage: Uint8Array | null;
  /** Ids the `duplicate` tests asked about (ask the store, then run again with the answers). */
  readonly duplicateChecks: readonly string[];
  /** Ids to record as seen, only when the run succeeded (RFC 7352 §3). */
  readonly duplicateMarks: readonly DuplicateMark[];
  readonly error: SieveError | null;
  /**
   * The script ended with `stop` (RFC 5228 §3.3). For a script run before the user's (the
   * domain's sieve_before), nothing runs after it. Absent: false.
   */
  readonly stopped?: boolean;
}
