import {
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServerErrorResponse,
  type ServerOptions,
  status,
} from '@grpc/grpc-js';
import { RpcError } from './errors.js';
import { HealthService } from './generated/grpc/health/v1/health.js';
import {
  type ResolveAddressesRequest,
  type ResolveAddressesResponse,
  type ResolveMxRequest,
  type ResolveMxResponse,
  type ResolvePtrRequest,
  type ResolvePtrResponse,
  type ResolverServer,
  ResolverService,
  type ResolveTlsaRequest,
  type ResolveTlsaResponse,
  type ResolveTxtRequest,
  type ResolveTxtResponse,
} from './generated/tegami/resolver/v1/resolver.js';
import { HealthRegistry, RESOLVER_SERVICE_NAME } from './health.js';

/** What an implementation learns about the call besides its request. */
export interface ResolverCallContext {
  /** Aborted when the client cancels or its deadline passes: stop querying upstream. */
  signal: AbortSignal;
  /** The client's deadline, if it gave one. */
  deadline: Date | undefined;
}

/**
 * The dns-resolver's logic, free of grpc-js. DNS failures are answers (a
 * ResolveStatus in the response); a thrown error means the resolver itself broke
 * and reaches the client as INTERNAL (or as the code of a thrown RpcError).
 */
export interface ResolverImplementation {
  resolveMx(req: ResolveMxRequest, ctx: ResolverCallContext): Promise<ResolveMxResponse>;
  resolveAddresses(req: ResolveAddressesRequest, ctx: ResolverCallContext): Promise<ResolveAddressesResponse>;
  resolveTxt(req: ResolveTxtRequest, ctx: ResolverCallContext): Promise<ResolveTxtResponse>;
  resolvePtr(req: ResolvePtrRequest, ctx: ResolverCallContext): Promise<ResolvePtrResponse>;
  resolveTlsa(req: ResolveTlsaRequest, ctx: ResolverCallContext): Promise<ResolveTlsaResponse>;
}

export interface ResolverServerOptions {
  /** Address to listen on, e.g. "0.0.0.0", "::" or "127.0.0.1". */
  host: string;
  /** Port to listen on; 0 picks a free one (see the returned handle's port). */
  port: number;
  implementation: ResolverImplementation;
  /** Defaults to insecure: the resolver is only reachable inside the cluster. */
  credentials?: ServerCredentials;
  serverOptions?: ServerOptions;
  /** Told of every error an implementation threw, e.g. to log it; the client only sees its message. */
  onError?: (error: unknown, method: string) => void;
}

export interface ResolverServerHandle {
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  /**
   * What the grpc.health.v1 service on the same port reports for "" and
   * tegami.resolver.v1.Resolver: SERVING from the start, NOT_SERVING once stop() begins.
   */
  setServing(serving: boolean): void;
  /**
   * Stops accepting calls and waits up to `graceMs` for those in flight, then
   * cancels whatever is left. Clients get GOAWAY and move to another replica.
   */
  stop(graceMs?: number): Promise<void>;
}

export const DEFAULT_STOP_GRACE_MS = 5_000;

export async function startResolverServer(opts: ResolverServerOptions): Promise<ResolverServerHandle> {
  const { implementation: impl, onError } = opts;

  // Each promise method becomes a grpc-js unary handler. The `this` binding matters:
  // implementations are often class instances.
  function unary<Req, Res>(
    method: string,
    fn: (req: Req, ctx: ResolverCallContext) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const controller = new AbortController();
      call.once('cancelled', () =>
        controller.abort(new RpcError(status.CANCELLED, 'call cancelled', method)),
      );
      const rawDeadline = call.getDeadline();
      const deadline =
        rawDeadline instanceof Date
          ? rawDeadline
          : Number.isFinite(rawDeadline)
            ? new Date(rawDeadline)
            : undefined;
      const ctx: ResolverCallContext = { signal: controller.signal, deadline };
      // Promise.resolve().then: a synchronous throw is handled like a rejection.
      Promise.resolve()
        .then(() => fn.call(impl, call.request, ctx))
        .then(
          (response) => callback(null, response),
          (error: unknown) => {
            onError?.(error, method);
            callback(toServerError(error));
          },
        );
    };
  }

  const handlers: ResolverServer = {
    resolveMx: unary('ResolveMx', impl.resolveMx),
    resolveAddresses: unary('ResolveAddresses', impl.resolveAddresses),
    resolveTxt: unary('ResolveTxt', impl.resolveTxt),
    resolvePtr: unary('ResolvePtr', impl.resolvePtr),
    resolveTlsa: unary('ResolveTlsa', impl.resolveTlsa),
  };

  const health = new HealthRegistry({ '': 'SERVING', [RESOLVER_SERVICE_NAME]: 'SERVING' });
  const server = new Server(opts.serverOptions);
  server.addService(ResolverService, handlers);
  server.addService(HealthService, health.handlers);

  // An IPv6 literal needs brackets in a gRPC address ("[::]:50051").
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    // grpc-js ≥1.10 starts serving once bound; Server#start() is deprecated.
    server.bindAsync(
      `${host}:${opts.port}`,
      opts.credentials ?? ServerCredentials.createInsecure(),
      (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
    );
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    setServing(serving) {
      health.setAll(serving ? 'SERVING' : 'NOT_SERVING');
    },
    stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      stopping ??= new Promise<void>((resolve) => {
        health.setAll('NOT_SERVING');
        health.endWatches();
        // forceShutdown destroys the remaining sessions at once, so the server is
        // down when it returns; resolving there does not depend on tryShutdown's
        // callback also firing after a forced close.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return stopping;
    },
  };
}

function toServerError(error: unknown): ServerErrorResponse {
  if (error instanceof RpcError) {
    return Object.assign(new Error(error.details), { code: error.code, details: error.details });
  }
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(message), { code: status.INTERNAL, details: message });
}
