// A session's command rate (ImapSessionOptions.commandRate): a token bucket, so a runaway
// client slows down instead of starving everyone else; past the burst, the session waits
// before reading on.

export class CommandRate {
  private tokens = Number.POSITIVE_INFINITY;
  private refilledAt = 0;

  constructor(private readonly rate: { readonly perSecond: number; readonly burst: number } | undefined) {}

  /** Resolves when the next command may run. */
  async next(): Promise<void> {
    const rate = this.rate;
    if (!rate) return;
    const now = Date.now();
    if (this.refilledAt === 0) this.tokens = rate.burst;
    else this.tokens = Math.min(rate.burst, this.tokens + ((now - this.refilledAt) / 1000) * rate.perSecond);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return;
    }
    const waitMs = Math.ceil(((1 - this.tokens) / rate.perSecond) * 1000);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    this.tokens = 0;
    this.refilledAt = Date.now();
  }
}
