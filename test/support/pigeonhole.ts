import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  comparableMessage,
  type NormalAction,
  type NormalOutcome,
  normalFlags,
  storeMailbox,
} from './sieve-actions.js';

// Dovecot Pigeonhole's `sieve-test` (Debian package dovecot-sieve) as the reference Sieve
// interpreter: a private dovecot.conf in a temp dir, one sub-directory per run, and the
// printed result parsed into the normal form of sieve-actions.ts.
//
// A run is one or two invocations of sieve-test:
//  1. without -e: sieve-test prints the result set ("Performed actions:" … "Implicit keep:"),
//     or a compile error (exit 89, "script: line N: error: …" on stderr), or nothing but
//     "final result: failed; resolved with successful implicit keep" for a run-time error.
//  2. with -e, only when the result holds a vacation action or the script requires
//     editheader: the actions are executed against a private maildir (every mailbox the
//     result stores into is created first, since sieve-test does not create them), so that
//     - vacation's "should a reply be sent at all" checks (RFC 5230 §4.5–4.6: list mail,
//       Precedence, Auto-Submitted, system senders, "was I addressed") run: Pigeonhole makes
//       them at execution, and logs "sent vacation response to <x>" or why it did not;
//     - editheader's edits (RFC 5293) can be read back from the stored message: the result
//       print does not show them.
//
// What sieve-test cannot be told (so the tests must not ask it): the null reverse-path
// (`-f ''`/`-f '<>'` are refused and a `Return-Path: <>` is skipped over to From:), the
// current time (currentdate answers the real clock in the process's TZ, set to UTC here),
// and the environment items (RFC 5183), which are Pigeonhole's own: `environmentItems()`
// reads them once, and Tegami is given the same values.
//
// spamtest/virustest (RFC 5235) read verdicts from header fields, configured here as:
//   spamtest:  score type, X-Spam-Score: <score>, its maximum from X-Spam-Threshold: <threshold>;
//              Pigeonhole answers 0 when either field is missing, else with r = clamp(score /
//              threshold, 0, 1): spamtest = floor(9r + 1.001), spamtestplus :percent = floor(100r + .001).
//   virustest: text type, X-Virus-Status: 1 … 5, each text value standing for itself (0: no field).
// So a case with Tegami's `input.spam = { score, threshold }` / `input.virus = n` carries the same
// verdict in these fields of the message both are given (`withVerdictFields`).

const SIEVE_TEST = '/usr/bin/sieve-test';

export const SPAM_SCORE_FIELD = 'X-Spam-Score';
export const SPAM_THRESHOLD_FIELD = 'X-Spam-Threshold';
export const VIRUS_STATUS_FIELD = 'X-Virus-Status';

/** The extensions both implement, beyond Pigeonhole's defaults (which lack these). */
const EXTRA_EXTENSIONS = ['editheader', 'vacation-seconds', 'spamtest', 'spamtestplus', 'virustest'];

export function sieveTestInstalled(): boolean {
  return existsSync(SIEVE_TEST);
}

export interface PigeonholeCase {
  readonly script: string;
  readonly message: Uint8Array;
  /** MAIL FROM without brackets (not empty: sieve-test cannot express `<>`). */
  readonly from: string;
  /** The original recipient (sieve-test -a): what `envelope "to"` sees, `user+tag@domain`. */
  readonly to: string;
  /** The final recipient (sieve-test -r), the user's own address; default `to`. */
  readonly recipient?: string;
  /** Mailboxes that exist before the run (for `mailboxexists`), INBOX aside. */
  readonly mailboxes?: readonly string[];
}

export interface PigeonholeOutcome extends NormalOutcome {
  /** What sieve-test printed, for a failure message. */
  readonly transcript: string;
}

interface Invocation {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs at most `limit` of the given tasks at a time, and returns their results in order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface PigeonholeOptions {
  /** Personal scripts (RFC 6609 `include :personal`), by name without `.sieve`. */
  readonly personal?: Readonly<Record<string, string>>;
  /** Global scripts (`include :global`). */
  readonly global?: Readonly<Record<string, string>>;
}

export class Pigeonhole {
  private runs = 0;

  private constructor(private readonly dir: string) {}

  /** A private configuration and script store under /tmp. */
  static create(options: PigeonholeOptions = {}): Pigeonhole {
    const dir = mkdtempSync(join(tmpdir(), 'tegami-pigeonhole-'));
    for (const sub of ['run', 'personal', 'global', 'cases']) mkdirSync(join(dir, sub));
    for (const [name, text] of Object.entries(options.personal ?? {})) {
      writeFileSync(join(dir, 'personal', `${name}.sieve`), text);
    }
    for (const [name, text] of Object.entries(options.global ?? {})) {
      writeFileSync(join(dir, 'global', `${name}.sieve`), text);
    }
    // As root sieve-test must drop to an unprivileged user (nobody), which needs to write the
    // compiled scripts and maildirs; as anyone else it runs as itself.
    const root = process.getuid?.() === 0;
    const uid = root ? 'nobody' : String(process.getuid?.() ?? 'nobody');
    const gid = root ? 'nogroup' : String(process.getgid?.() ?? 'nogroup');
    writeFileSync(
      join(dir, 'dovecot.conf'),
      [
        `mail_uid = ${uid}`,
        `mail_gid = ${gid}`,
        'first_valid_uid = 0',
        `mail_location = maildir:${dir}/cases/none:LAYOUT=fs:UTF-8`,
        `base_dir = ${dir}/run`,
        'log_path = /dev/stderr',
        'protocols =',
        // Long lines: managesieve may print them, sieve-test never folds.
        'plugin {',
        `  sieve = file:${dir}/personal`,
        `  sieve_global = ${dir}/global`,
        `  sieve_extensions = ${EXTRA_EXTENSIONS.map((e) => `+${e}`).join(' ')}`,
        '  sieve_spamtest_status_type = score',
        `  sieve_spamtest_status_header = ${SPAM_SCORE_FIELD}`,
        `  sieve_spamtest_max_header = ${SPAM_THRESHOLD_FIELD}`,
        '  sieve_virustest_status_type = text',
        `  sieve_virustest_status_header = ${VIRUS_STATUS_FIELD}`,
        ...[1, 2, 3, 4, 5].map((i) => `  sieve_virustest_text_value${i} = ${i}`),
        '}',
        '',
      ].join('\n'),
    );
    openUp(dir);
    return new Pigeonhole(dir);
  }

  /** The environment items (RFC 5183) Pigeonhole's sieve-test answers, absent ones left out. */
  async environmentItems(): Promise<Record<string, string>> {
    const items = ['domain', 'host', 'location', 'name', 'phase', 'remote-host', 'remote-ip', 'version'];
    // vnd.dovecot.debug writes to the log: the one way to see a value without an action.
    const script = [
      'require ["environment", "variables", "vnd.dovecot.debug"];',
      ...items.map((i) => `if environment :matches "${i}" "*" { debug_log "ITEM ${i}=\${1}"; }`),
    ].join('\n');
    const caseDir = this.caseDir();
    writeFileSync(join(caseDir, 'script.sieve'), script);
    writeFileSync(join(caseDir, 'message.eml'), 'Subject: x\r\n\r\nx\r\n');
    openUp(caseDir);
    const run = await this.invoke(caseDir, ['-f', 'a@example.org', '-a', 'b@example.org']);
    const found: Record<string, string> = {};
    for (const m of run.stderr.matchAll(/DEBUG: ITEM ([a-z-]+)=(.*?)\.?$/gm)) found[m[1]!] = m[2]!;
    return found;
  }

  async run(c: PigeonholeCase): Promise<PigeonholeOutcome> {
    const caseDir = this.caseDir();
    writeFileSync(join(caseDir, 'script.sieve'), c.script);
    writeFileSync(join(caseDir, 'message.eml'), c.message);
    const mail = join(caseDir, 'mail');
    mkdirSync(mail);
    for (const name of c.mailboxes ?? []) createMailbox(mail, name);
    openUp(caseDir);
    const args = [
      '-o',
      `mail_location=maildir:${mail}:LAYOUT=fs:UTF-8`,
      '-f',
      c.from,
      '-a',
      c.to,
      '-r',
      c.recipient ?? c.to,
    ];
    const first = await this.invoke(caseDir, args);
    const transcript = [`$ sieve-test ${args.join(' ')}`, first.stdout, first.stderr];
    const parsed = parseSieveTest(first);
    // RFC 7352: each id the run records is a "track duplicate" action in the print.
    const tracks = parsed.actions.filter(
      (a) => a.type === 'unparsed' && /^track (last )?duplicate( with handle: .*)?$/.test(a.text),
    );
    const outcome: NormalOutcome = {
      actions: parsed.actions.filter((a) => !tracks.includes(a)),
      ...(/\bduplicate\b/.test(c.script) && !parsed.actions.some((a) => a.type === 'error')
        ? { duplicateMarks: tracks.length }
        : {}),
    };
    if (outcome.actions.some((a) => a.type === 'error')) {
      return { ...outcome, transcript: transcript.join('\n') };
    }
    const editheader = /\beditheader\b/.test(c.script);
    // A name printed with '?' may hold a control character (str_sanitize): Pigeonhole checks
    // names only when it stores, so only -e tells whether the store fails (RFC 5228 §2.10.6).
    const oddName = outcome.actions.some((a) => a.type === 'store' && /\?|\.\.\.$/.test(a.mailbox));
    if (!outcome.actions.some((a) => a.type === 'vacation') && !editheader && !oddName) {
      return { ...outcome, transcript: transcript.join('\n') };
    }
    for (const a of outcome.actions) {
      if (a.type === 'store' && a.mailbox !== 'INBOX') createMailbox(mail, a.mailbox);
    }
    openUp(caseDir);
    const executed = await this.invoke(caseDir, ['-e', ...args]);
    transcript.push('$ sieve-test -e …', executed.stdout, executed.stderr);
    if (/final result: failed; resolved with successful implicit keep/.test(executed.stderr)) {
      return {
        actions: [
          { type: 'error', phase: 'runtime' },
          { type: 'implicit-keep', flags: [] },
        ],
        transcript: transcript.join('\n'),
      };
    }
    const actions = outcome.actions.flatMap((a): NormalAction[] => {
      if (a.type !== 'vacation') return [a];
      const sent = /vacation action: sent vacation response to <([^>]*)>/.exec(executed.stderr);
      if (sent) return [{ ...a, to: sent[1]! }];
      // Pigeonhole decided no reply is due (RFC 5230 §4.5/§4.6): the action has no effect.
      if (/vacation action: (discard|not sending)/.test(executed.stderr)) return [];
      return [{ ...a, to: '(unknown: sieve-test -e did not say)' }];
    });
    const stored = editheader ? readFirstStored(mail, outcome.actions) : null;
    return {
      ...outcome,
      actions,
      ...(editheader ? { storedMessage: stored } : {}),
      transcript: transcript.join('\n'),
    };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private caseDir(): string {
    const d = join(this.dir, 'cases', String(++this.runs));
    mkdirSync(d);
    return d;
  }

  private invoke(caseDir: string, args: readonly string[]): Promise<Invocation> {
    return new Promise((resolve) => {
      execFile(
        SIEVE_TEST,
        [
          '-c',
          join(this.dir, 'dovecot.conf'),
          ...args,
          join(caseDir, 'script.sieve'),
          join(caseDir, 'message.eml'),
        ],
        { env: { ...process.env, TZ: 'UTC' }, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }
}

/** sieve-test runs as nobody when started as root: let it into everything of ours. */
function openUp(dir: string): void {
  chmodSync(dir, 0o777);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) openUp(path);
    else chmodSync(path, 0o666);
  }
}

/** A maildir folder in the LAYOUT=fs:UTF-8 layout: the name's '/' levels as directories. */
function createMailbox(mail: string, name: string): void {
  if (
    name.toUpperCase() === 'INBOX' ||
    name === '' ||
    name.split('/').some((p) => p === '' || p === '.' || p === '..')
  ) {
    return;
  }
  for (const sub of ['cur', 'new', 'tmp'])
    mkdirSync(join(mail, ...name.split('/'), sub), { recursive: true });
}

/** The message as the first store action left it in the maildir, line ends as LF. */
function readFirstStored(mail: string, actions: readonly NormalAction[]): string | null {
  const candidates = actions.flatMap((a) =>
    a.type === 'store' || a.type === 'implicit-keep' ? [storeMailbox(a)] : [],
  );
  for (const name of candidates) {
    const dir = name === 'INBOX' ? join(mail, 'new') : join(mail, ...name.split('/'), 'new');
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir).sort();
    if (files.length > 0) return comparableMessage(readFileSync(join(dir, files[0]!)));
  }
  return null;
}

// ---- Parsing sieve-test's result print (sieve_result_print and the actions' print functions).

/** The outcome of one sieve-test invocation without -e. */
export function parseSieveTest(run: Invocation): NormalOutcome {
  if (run.code === 89 || /Fatal: failed to compile sieve script/.test(run.stderr)) {
    // The first error the compiler reports (errors of included scripts name another script).
    const m = /^script: line (\d+): error: /m.exec(run.stderr);
    return { actions: [{ type: 'error', phase: 'compile', line: m ? Number(m[1]) : null }] };
  }
  if (/final result: failed; resolved with successful implicit keep/.test(run.stderr)) {
    return {
      actions: [
        { type: 'error', phase: 'runtime' },
        { type: 'implicit-keep', flags: [] },
      ],
    };
  }
  if (run.code !== 0 || !run.stdout.includes('Performed actions:')) {
    return { actions: [{ type: 'unparsed', text: `exit ${run.code}: ${run.stdout}${run.stderr}` }] };
  }
  return { actions: parseResultPrint(run.stdout) };
}

export function parseResultPrint(stdout: string): NormalAction[] {
  const performedAt = stdout.indexOf('\nPerformed actions:\n');
  const implicitAt = stdout.lastIndexOf('\nImplicit keep:\n');
  const performed = stdout.slice(performedAt + '\nPerformed actions:\n'.length, implicitAt);
  const implicit = stdout.slice(implicitAt + '\nImplicit keep:\n'.length);
  const actions = parseActionList(performed);
  for (const a of parseActionList(implicit)) {
    actions.push(a.type === 'store' && a.mailbox === 'INBOX' ? { type: 'implicit-keep', flags: a.flags } : a);
  }
  return actions;
}

/** The lines of one section: " * action" lines, each followed by its details. */
function parseActionList(section: string): NormalAction[] {
  const lines = new Lines(section.split('\n'));
  const actions: NormalAction[] = [];
  while (!lines.done()) {
    const line = lines.next();
    if (line === '' || line === '  (none)') continue;
    if (!line.startsWith(' * ')) {
      actions.push({ type: 'unparsed', text: line });
      continue;
    }
    const head = line.slice(3);
    const store = /^store message in folder: (.*)$/.exec(head);
    const redirect = /^redirect message to: <(.*)>$/.exec(head);
    const reject = /^reject message with reason: (.*)$/.exec(head);
    const notify = /^send notification with method '([^']*)':$/.exec(head);
    if (store) {
      let flags: string[] = [];
      let create = false;
      let copy = false;
      for (const effect of lines.sideEffects()) {
        if (effect.startsWith('add IMAP flags: '))
          flags = normalFlags(effect.slice('add IMAP flags: '.length).split(' '));
        else if (effect === 'create mailbox if it does not exist') create = true;
        else if (effect === 'preserve implicit keep') copy = true;
        else actions.push({ type: 'unparsed', text: effect });
      }
      actions.push({ type: 'store', mailbox: canonicalMailbox(store[1]!), flags, create, copy });
    } else if (redirect) {
      const copy = lines.sideEffects().includes('preserve implicit keep');
      actions.push({ type: 'redirect', address: redirect[1]!, copy });
    } else if (head === 'discard') {
      actions.push({ type: 'discard' });
    } else if (reject) {
      actions.push({ type: 'reject', reason: reject[1]! });
    } else if (head === 'send vacation message:') {
      actions.push(parseVacation(lines));
    } else if (notify) {
      actions.push(...parseNotify(lines, notify[1]!));
    } else {
      actions.push({ type: 'unparsed', text: head });
      for (const detail of lines.details())
        if (detail.trim() !== '') actions.push({ type: 'unparsed', text: detail });
    }
  }
  return actions;
}

/** A cursor over the lines of a section. */
class Lines {
  private i = 0;

  constructor(private readonly lines: readonly string[]) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  peek(): string | undefined {
    return this.lines[this.i];
  }

  next(): string {
    return this.lines[this.i++] ?? '';
  }

  /** The "        + effect" lines after an action (sieve_result_seffect_printf). */
  sideEffects(): string[] {
    const out: string[] = [];
    while (/^ {8}\+ /.test(this.peek() ?? '')) out.push(this.next().slice(10));
    return out;
  }

  /** The next line when it belongs to the current action, else undefined. */
  detail(): string | undefined {
    const line = this.peek();
    return line === undefined || line.startsWith(' * ') || line === '  (none)' ? undefined : this.next();
  }

  /** Every line up to the next action. */
  details(): string[] {
    const out: string[] = [];
    for (let line = this.detail(); line !== undefined; line = this.detail()) out.push(line);
    return out;
  }

  /** The lines up to (not including) `end`, which is consumed. */
  until(end: string): string[] {
    const out: string[] = [];
    while (!this.done() && this.peek() !== end) out.push(this.next());
    this.next();
    return out;
  }
}

/** act_vacation_print: "    => name : value" lines, then "START MESSAGE" … "END MESSAGE". */
function parseVacation(lines: Lines): NormalAction {
  const fields: Record<string, string> = {};
  for (;;) {
    const field = /^ {4}=> (\w+) *: (.*)$/.exec(lines.peek() ?? '');
    if (!field) break;
    fields[field[1]!] = field[2]!;
    lines.next();
  }
  lines.until('START MESSAGE');
  const reason = lines.until('END MESSAGE').join('\n').replace(/\r/g, '');
  return {
    type: 'vacation',
    to: null,
    seconds: Number(fields.seconds),
    subject: fields.subject ?? null,
    from: fields.from ?? null,
    handle: fields.handle ?? null,
    reason,
  };
}

/** ntfy_mailto_action_print: importance, subject, from, recipients, headers, body. */
function parseNotify(lines: Lines, method: string): NormalAction[] {
  const notify = {
    type: 'notify' as const,
    method: method.replace(/:$/, ''),
    importance: 2,
    subject: null as string | null,
    from: null as string | null,
    recipients: [] as string[],
    headers: [] as string[],
    body: null as string | null,
  };
  const unparsed: NormalAction[] = [];
  let list: string[] | null = null;
  for (;;) {
    const detail = lines.detail();
    if (detail === undefined) break;
    const field = /^ {4}=> (\w+) *: ?(.*)$/.exec(detail);
    const item = /^ {7}\+ (.*)$/.exec(detail);
    if (field) {
      list = null;
      const [, name, value] = field;
      if (name === 'importance') notify.importance = Number(value);
      else if (name === 'subject') notify.subject = value!;
      else if (name === 'from') notify.from = value!;
      else if (name === 'recipients') list = notify.recipients;
      else if (name === 'headers') list = notify.headers;
      else if (name === 'body') {
        // "    => body         : \n--\n<body>\n--\n"
        lines.until('--');
        notify.body = lines.until('--').join('\n').replace(/\r/g, '');
      }
    } else if (item && list) {
      list.push(item[1]!);
    } else if (detail.trim() !== '') {
      unparsed.push({ type: 'unparsed', text: detail });
    }
  }
  return [...unparsed, notify];
}

/** Pigeonhole prints names through str_sanitize(…, 128); INBOX in any case is INBOX. */
function canonicalMailbox(printed: string): string {
  return printed.toUpperCase() === 'INBOX' ? 'INBOX' : printed;
}
