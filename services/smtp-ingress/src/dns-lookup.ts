import { type ResolverCallOptions, ResolveStatus } from '@tegami/rpc';

// What the connection checks share about asking the dns-resolver: each check has one
// deadline for all its lookups, and every DNS outcome is sorted into "there is nothing"
// (permanent) or "could not tell" (temporary), as RFC 8601 §2.7.3 does for iprev.

/** Call options for a lookup that must be answered by `deadlineAt` (epoch ms). */
export function lookupOptions(deadlineAt: number, signal: AbortSignal | undefined): ResolverCallOptions {
  return { deadlineMs: Math.max(1, deadlineAt - Date.now()), ...(signal && { signal }) };
}

export type LookupOutcome = 'found' | 'absent' | 'temporary';

/**
 * OK: records; NXDOMAIN and NO_DATA (and NULL_MX, which is a record): a final answer that
 * there are none; SERVFAIL, TIMEOUT, REFUSED and anything unknown: nothing can be said now.
 */
export function outcomeOf(status: ResolveStatus): LookupOutcome {
  switch (status) {
    case ResolveStatus.RESOLVE_STATUS_OK:
    case ResolveStatus.RESOLVE_STATUS_NULL_MX:
      return 'found';
    case ResolveStatus.RESOLVE_STATUS_NXDOMAIN:
    case ResolveStatus.RESOLVE_STATUS_NO_DATA:
      return 'absent';
    default:
      return 'temporary';
  }
}

/** A short text of a failed call (an RpcError, a deadline), for logs. */
export function describeFailure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Text a DNS server chose, made safe for an SMTP reply line: printable ASCII only (RFC 5321
 * §4.2 text), on one line, and short enough that the whole reply stays under 512 octets.
 */
export function replySafeText(text: string, maxLength = 200): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 3)}...` : clean;
}
