import { redactCredentials } from './redact.js';

interface SystemErrorLike {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  message?: unknown;
  cause?: unknown;
}

/**
 * One line that says why something failed, for /readyz and for start-up failures. Node's
 * network errors say `connect ECONNREFUSED 127.0.0.1:5432`, connecting to `localhost` can
 * fail with an AggregateError whose message is empty, and the NATS client says only
 * `connection refused` with the address in its cause; operators want `connection refused
 * (127.0.0.1:5432)`.
 */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describeError))].join('; ');
  }
  if (typeof err !== 'object' || err === null) return redactCredentials(String(err));
  const e = err as SystemErrorLike;
  const network = describeNetworkError(e) ?? describeNetworkError(e.cause);
  if (network) return network;
  const message = typeof e.message === 'string' ? e.message.split('\n')[0]!.trim() : '';
  if (message) return redactCredentials(message);
  if (typeof e.code === 'string') return e.code;
  return err instanceof Error ? err.name : 'unknown error';
}

function describeNetworkError(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SystemErrorLike;
  const at =
    typeof e.address === 'string' ? ` (${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''})` : '';
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused${at}`;
    case 'ECONNRESET':
      return `connection reset${at}`;
    case 'ETIMEDOUT':
      return `connection timed out${at}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable${at}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found${typeof e.hostname === 'string' ? ` (${e.hostname})` : ''}`;
    default:
      return undefined;
  }
}
