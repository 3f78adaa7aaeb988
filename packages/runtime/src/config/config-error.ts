/**
 * A setting that is missing or wrong. Its message is the whole story on one line
 * (`DATABASE_URL: not a postgres:// URL ("mysql://x")`), because the program prints it
 * and stops instead of showing a stack trace.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}
