/** A load generator started by the chaos run. */
export interface RunningLoad {
  /** Resolves once every loop has stopped issuing requests after `ctx.stopping()` turned true. */
  quiet(): Promise<void>;
  /** Does any final step (after quiet) and resolves when every connection is closed. */
  finish(): Promise<void>;
}
