// Jobs arrive together (a fetch hands the worker up to `concurrency` at once) and each
// starts with the same statements: claim the message, route its recipients. Sent one by
// one, that is one round trip per job, each costing Postgres and this process CPU on a
// machine where they share the cores. The coalescer sends the first request at once and,
// while it is in Postgres, gathers the ones that come meanwhile into the next statement:
// no request waits for a batch to fill, and under load one statement serves many jobs.

interface Waiting<I, O> {
  readonly input: I;
  readonly resolve: (output: O) => void;
  readonly reject: (err: unknown) => void;
}

export class Coalescer<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private running = false;

  /** `runMany` answers each input in order; if it throws, every request of that batch fails. */
  constructor(
    private readonly runMany: (inputs: readonly I[]) => Promise<readonly O[]>,
    private readonly maxBatch = 64,
  ) {}

  run(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const outputs = await this.runMany(batch.map((w) => w.input));
          if (outputs.length !== batch.length) throw new Error('coalesced statement answered a wrong count');
          for (const [i, w] of batch.entries()) w.resolve(outputs[i]!);
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
