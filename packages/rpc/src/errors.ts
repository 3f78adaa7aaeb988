import { status } from '@grpc/grpc-js';

/**
 * gRPC status codes, re-exported so callers can compare `err.code` without
 * depending on @grpc/grpc-js themselves.
 */
export { status as GrpcStatus };

/**
 * A call that failed at the gRPC level (the resolver was unreachable, too slow, or
 * broke), as opposed to a DNS failure, which arrives in-band as a ResolveStatus.
 * The delivery-worker treats every RpcError as temporary.
 *
 * A server implementation may also throw one to choose the status the client sees
 * (e.g. RESOURCE_EXHAUSTED when shedding load); any other thrown error becomes INTERNAL.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';

  constructor(
    /** The gRPC status code (a GrpcStatus value). */
    readonly code: status,
    /** The status message the server (or grpc-js, for local failures) gave. */
    readonly details: string,
    /** The RPC method, e.g. "ResolveMx", when known. */
    readonly method?: string,
    options?: ErrorOptions,
  ) {
    super(`${method ? `${method}: ` : ''}${status[code] ?? code}${details ? `: ${details}` : ''}`, options);
  }
}
