import { formatSize } from './sizes.js';

// The progress of a long command (export, restore, import, queue retry --all), on standard
// error so standard output stays the command's result:
//   - a person watching (stderr is a terminal): one line redrawn in place, at most
//     REDRAWS_PER_SECOND times a second however fast the work ticks, with a bar when the
//     total is known, the count, the bytes, the rate and the time left;
//   - a log or a pipe: a plain line every few seconds, never a carriage return, so a cron
//     mail or `kubectl logs` reads as text;
//   - either way, one summary line at the end: how much, how long, how fast.
// It draws only when work ticks (no timer), so it never keeps the process alive.
//
//   const p = progress({ label: 'imported', unit: 'messages', total: 10_000, say: ctx.warn });
//   for (…) p.tick(1, raw.length);
//   p.done();   // or p.fail() when the command stops on an error

export interface ProgressOptions {
  /** What the command does, in the past tense, first on each line: 'imported', 'exported'. */
  readonly label: string;
  /** How many units make the whole, when known beforehand: a bar, a percentage and an ETA then. */
  readonly total?: number | undefined;
  /** What is counted, plural: 'messages' (the default), 'recipients'. */
  readonly unit?: string;
  /** Writes a whole line to standard error: the plain lines and the summary. Give it `ctx.warn`. */
  readonly say?: (line: string) => void;
  /** The terminal to redraw on: standard error when it is one (the default); null never to redraw. */
  readonly terminal?: ProgressTerminal | null;
  /** Milliseconds between plain lines when there is no terminal (5,000). */
  readonly lineIntervalMs?: number;
  /** The clock, in milliseconds (tests). */
  readonly now?: () => number;
}

/** What the bar is drawn on: a TTY's write and width. */
export interface ProgressTerminal {
  write(text: string): unknown;
  readonly columns?: number | undefined;
}

export interface Progress {
  /** `count` more units done (1 by default), holding `bytes` more bytes. */
  tick(count?: number, bytes?: number): void;
  /** So many units (and bytes) done in all: for work that reports running totals. */
  update(done: number, bytes?: number): void;
  /** The total learnt late, or changed; undefined when unknown after all. */
  setTotal(total: number | undefined): void;
  /** What is being worked on now, shown after the figures: a folder's name. */
  setDetail(detail: string | undefined): void;
  /** A line of its own (a warning) that the bar must not overwrite. */
  note(line: string): void;
  /** The bar cleared and the summary said; returns the summary. Later calls do nothing. */
  done(): string;
  /** As done(), for a command stopped short: the summary says "stopped after". */
  fail(): string;
}

/** The redraw limit on a terminal: a bar redrawn faster only costs CPU and flickers. */
const REDRAWS_PER_SECOND = 10;
/** The rate (and so the ETA) is measured over this much recent time, so it follows a change of pace. */
const RATE_WINDOW_MS = 10_000;
const BAR_WIDTH = 20;

interface Sample {
  readonly at: number;
  readonly done: number;
  readonly bytes: number;
}

export function progress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const unit = options.unit ?? 'messages';
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const terminal =
    options.terminal === undefined ? (process.stderr.isTTY ? process.stderr : undefined) : options.terminal;
  const lineInterval = options.lineIntervalMs ?? 5_000;
  const started = now();
  let total = options.total;
  let done = 0;
  let bytes = 0;
  let sawBytes = false;
  let detail: string | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastLine = started;
  let drawn = false;
  let finished: string | undefined;
  const samples: Sample[] = [{ at: started, done: 0, bytes: 0 }];

  const sample = (at: number) => {
    samples.push({ at, done, bytes });
    while (samples.length > 2 && samples[1]!.at <= at - RATE_WINDOW_MS) samples.shift();
  };

  /** Units and bytes per second over the recent window (since the start while it is short). */
  const rate = (at: number) => {
    const first = samples[0]!;
    const span = at - first.at;
    if (span <= 0) return { units: 0, bytes: 0 };
    return { units: ((done - first.done) * 1000) / span, bytes: ((bytes - first.bytes) * 1000) / span };
  };

  const figures = (at: number, withBar: boolean): string => {
    const parts: string[] = [];
    let bar = '';
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      if (withBar) {
        const filled = Math.round(fraction * BAR_WIDTH);
        bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] `;
      }
      parts.push(`${done}/${total} ${unit} (${Math.floor(fraction * 100)}%)`);
    } else {
      parts.push(`${done} ${unit}`);
    }
    if (sawBytes) parts.push(formatSize(bytes));
    const speed = rate(at);
    if (at - started >= 1000) {
      parts.push(`${formatRate(speed.units)} ${unit}/s`);
      if (sawBytes) parts.push(`${formatSize(Math.round(speed.bytes))}/s`);
      if (total !== undefined && total > done && speed.units > 0)
        parts.push(`ETA ${formatDuration(((total - done) * 1000) / speed.units)}`);
    }
    if (detail) parts.push(detail);
    return `${options.label} ${bar}${parts.join(withBar ? '  ' : ', ')}`;
  };

  const clear = () => {
    if (terminal && drawn) terminal.write('\r\u001b[K');
    drawn = false;
  };

  const draw = (at: number) => {
    if (!terminal) return;
    const width = Math.max(20, (terminal.columns ?? 80) - 1);
    // Cut to the width: a line that wraps cannot be redrawn by a carriage return.
    terminal.write(`\r${figures(at, true).slice(0, width)}\u001b[K`);
    drawn = true;
  };

  const advanced = () => {
    if (finished !== undefined) return;
    const at = now();
    if (terminal) {
      if (at - lastDraw < 1000 / REDRAWS_PER_SECOND) return;
      lastDraw = at;
      sample(at);
      draw(at);
    } else if (at - lastLine >= lineInterval) {
      lastLine = at;
      sample(at);
      say(figures(at, false));
    }
  };

  const finish = (stopped: boolean): string => {
    if (finished !== undefined) return finished;
    const at = now();
    clear();
    const elapsed = at - started;
    const counted =
      total !== undefined && (stopped || done !== total) ? `${done} of ${total} ${unit}` : `${done} ${unit}`;
    const size = sawBytes ? ` (${formatSize(bytes)})` : '';
    const seconds = elapsed / 1000;
    const speed =
      seconds > 0 && done > 0
        ? `: ${formatRate(done / seconds)} ${unit}/s${sawBytes ? `, ${formatSize(Math.round(bytes / seconds))}/s` : ''}`
        : '';
    finished = `${options.label} ${counted}${size} in ${formatDuration(elapsed)}${speed}${stopped ? ' (stopped)' : ''}`;
    say(finished);
    return finished;
  };

  return {
    tick(count = 1, more = 0) {
      done += count;
      if (more > 0) sawBytes = true;
      bytes += more;
      advanced();
    },
    update(allDone, allBytes) {
      done = allDone;
      if (allBytes !== undefined) {
        sawBytes = sawBytes || allBytes > 0;
        bytes = allBytes;
      }
      advanced();
    },
    setTotal(next) {
      total = next;
    },
    setDetail(next) {
      detail = next;
    },
    note(line) {
      clear();
      say(line);
      if (terminal && finished === undefined) draw(now());
    },
    done: () => finish(false),
    fail: () => finish(true),
  };
}

/** `812`, `41.5`, `0.3`: whole numbers once they are large enough that decimals are noise. */
function formatRate(perSecond: number): string {
  if (perSecond >= 100) return String(Math.round(perSecond));
  return perSecond >= 10 ? perSecond.toFixed(1).replace(/\.0$/, '') : perSecond.toFixed(1);
}

/** `0.4s`, `12.3s`, `4m05s`, `2h07m`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 59.5) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  const minutes = Math.round(whole / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
