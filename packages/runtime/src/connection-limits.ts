/** Counts open connections in all and per client IP, so a single client cannot take them all. */
export class ConnectionLimits {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Takes a slot, or says why there is none. */
  acquire(address: string): 'ok' | 'total' | 'per-address' {
    if (this.total >= this.maxTotal) return 'total';
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= this.maxPerAddress) return 'per-address';
    this.total++;
    this.perAddress.set(address, mine + 1);
    return 'ok';
  }

  release(address: string): void {
    this.total--;
    const mine = (this.perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, mine);
  }
}
