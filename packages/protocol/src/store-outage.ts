// Whether a store error is an outage (the database down, restarting, unreachable or out of
// disk) rather than a bug. IMAP says which with its response code (RFC 5530:
// UNAVAILABLE is "a subsystem is down", SERVERBUG "the server encountered a bug"): a
// client may retry the one and report the other. The protocol package knows no driver,
// so this reads the shapes node-postgres and Node's sockets give their errors.

/** SQLSTATE classes and codes of a database that cannot serve now (PostgreSQL appendix A). */
const OUTAGE_SQLSTATE = [
  /^08/, // connection exception
  /^53/, // insufficient resources: disk full, out of memory, too many connections
  /^57P0[1-4]$/, // admin / crash shutdown, cannot connect now, database dropped
  /^58030$/, // I/O error
];

const OUTAGE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOSPC',
]);

/** node-postgres and pg-pool say these in words only. */
const OUTAGE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly|the database system is (starting up|shutting down|in recovery mode))/i;

export function isStoreOutage(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const { code, message, cause } = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (OUTAGE_ERRNO.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && OUTAGE_SQLSTATE.some((pattern) => pattern.test(code))) return true;
  }
  if (typeof message === 'string' && OUTAGE_MESSAGE.test(message)) return true;
  if (err instanceof AggregateError) return err.errors.some((e) => isStoreOutage(e, depth + 1));
  return isStoreOutage(cause, depth + 1);
}
