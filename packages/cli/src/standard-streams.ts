import type { Writable } from 'node:stream';

/**
 * Lines to standard output or standard error that survive the reader going away. When
 * `tegami user list | head -1` has its line, head exits and the next write fails with
 * EPIPE; Node reports that as an 'error' event, which unhandled is a crash with a stack
 * trace. Here the first failure closes the writer: later lines are dropped, the command
 * finishes what it was doing (a store transaction is never cut short by a pipe), and the
 * program ends as coreutils do when SIGPIPE ends them (main.ts: exit status 141).
 */
export interface LineWriter {
  readonly write: (line: string) => void;
  /** Why the stream stopped taking lines, once it has. */
  readonly failure: () => NodeJS.ErrnoException | undefined;
}

export function lineWriter(stream: Writable): LineWriter {
  let failure: NodeJS.ErrnoException | undefined;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err;
  });
  return {
    write: (line) => {
      if (failure || stream.destroyed) return;
      try {
        stream.write(`${line}\n`);
      } catch (err) {
        failure = err as NodeJS.ErrnoException;
      }
    },
    failure: () => failure,
  };
}

/** The reader went away (EPIPE): not an error to report, only a reason to stop. */
export function isClosedPipe(err: NodeJS.ErrnoException | undefined): boolean {
  return err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED';
}

/** 128 + SIGPIPE: what a shell reports for `seq 1 1000000 | head -1`'s seq. */
export const EXIT_CLOSED_PIPE = 141;
