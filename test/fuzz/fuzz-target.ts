import type fc from 'fast-check';

// One fuzz target: a parser that takes bytes from the network or from stored mail, the inputs
// to throw at it, and the properties every answer must have (issue 21 §2). The runner
// (test/fuzz/run.ts) runs every target for a bounded time in CI and as long as asked by hand;
// each target lives in test/fuzz/targets/<name>.ts and exports one `target`.

export interface FuzzTarget<T> {
  /** Short and stable: it names the target on the command line and in the results. */
  readonly name: string;
  /** What it covers, in a line (the README's table). */
  readonly covers: string;
  /**
   * The inputs: grammar-aware generators mixed with mutations of the seed corpus
   * (/work/shared/corpus, test fixtures), so both valid and nearly valid inputs come.
   */
  readonly input: fc.Arbitrary<T>;
  /**
   * Throws (or rejects) when a property does not hold: a round trip that differs, an offset
   * outside the input, a reply that is not a valid protocol line, a crash of the parser.
   */
  check(input: T): void | Promise<void>;
  /** Inputs found failing once: run first, every time (regression tests). */
  readonly regressions?: readonly T[];
}
