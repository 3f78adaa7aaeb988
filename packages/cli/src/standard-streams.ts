import type { Writable } from 'node:stream';

/**
 * Lines to standard output or standard error that survive the reader going away. When
 * `tegami user list | head -1` has its line, head exits and the next write fails with
 * EPIPE; Node reports that as an 'error' event, which unhandled is a crash with a stack
 * trace. Here the first failure closes the writer: later lines are dropped, the command
 * finishes what it was doing (a store transaction is never cut short by a pipe), and the
 * program ends as coreutils do when SIGPIPE ends them (main.ts: exit status 141).
 *
 * Like coreutils' stdio, output that is not a terminal is written in blocks rather than
 * line by line: a short listing is one write, which `| head -1` reads whole, so it ends
 * with 0 as `seq 3 | head -1` does, not by the luck of which line head exits after.
 */
export interface LineWriter {
  readonly write: (line: string) => void;
  /** Writes what is held back; before anything goes to the other stream, and at the end. */
  readonly flush: () => void;
  /** Why the stream stopped taking lines, once it has. */
  readonly failure: () => NodeJS.ErrnoException | undefined;
}

const BLOCK = 64 * 1024;

export function lineWriter(
  stream: Writable,
  options: { readonly buffered: boolean; readonly before?: () => void },
): LineWriter {
  let failure: NodeJS.ErrnoException | undefined;
  let held = '';
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  const send = (text: string) => {
    if (failure || stream.destroyed || text === '') return;
    try {
      stream.write(text);
    } catch (err) {
      failure = err as NodeJS.ErrnoException;
    }
  };
  const flush = () => {
    const text = held;
    held = '';
    send(text);
  };
  return {
    write: (line) => {
      options.before?.();
      held += `${line}\n`;
      if (!options.buffered || held.length >= BLOCK) flush();
    },
    flush,
    failure: () => failure,
  };
}

/** The reader went away (EPIPE): not an error to report, only a reason to stop. */
export function isClosedPipe(err: NodeJS.ErrnoException | undefined): boolean {
  return err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED';
}

/** 128 + SIGPIPE: what a shell reports for `seq 1 1000000 | head -1`'s seq. */
export const EXIT_CLOSED_PIPE = 141;
