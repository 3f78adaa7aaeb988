/** A refusal the caller can act on (a reply code, a CLI message), not a bug. */
export type StoreErrorCode = 'duplicate' | 'not_found' | 'invalid' | 'conflict' | 'schema';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Postgres SQLSTATE 23505: the row would duplicate a unique key. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const pgErr = err as { code?: string; constraint?: string };
  return pgErr?.code === '23505' && (constraint === undefined || pgErr.constraint === constraint);
}
