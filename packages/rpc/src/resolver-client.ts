import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientUnaryCall,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { RpcError } from './errors.js';
import {
  AddressFamily,
  ResolverClient as GeneratedResolverClient,
  type ResolveAddressesResponse,
  type ResolveMxResponse,
  type ResolvePtrResponse,
  type ResolveTlsaResponse,
  type ResolveTxtResponse,
} from './generated/tegami/resolver/v1/resolver.js';

/** Per-call options. */
export interface ResolverCallOptions {
  /** Give up after this many milliseconds (DEADLINE_EXCEEDED). Defaults to the client's default. */
  deadlineMs?: number;
  /** Cancels the call (the promise rejects with CANCELLED). */
  signal?: AbortSignal;
}

export interface ResolverClientOptions {
  /**
   * Deadline of a call that gives none. The resolver answers DNS timeouts in-band
   * (RESOLVE_STATUS_TIMEOUT) well before this, so hitting it means the resolver
   * itself is stuck or overloaded.
   */
  defaultDeadlineMs?: number;
  /** Defaults to insecure: the resolver is only reachable inside the cluster. */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options; they override the defaults set here. */
  channelOptions?: ChannelOptions;
}

/** A promise-based client of tegami.resolver.v1.Resolver. */
export interface ResolverClient {
  resolveMx(domain: string, opts?: ResolverCallOptions): Promise<ResolveMxResponse>;
  /** Both families, or only `family`'s records when given. */
  resolveAddresses(
    host: string,
    opts?: ResolverCallOptions & { family?: AddressFamily },
  ): Promise<ResolveAddressesResponse>;
  resolveTxt(name: string, opts?: ResolverCallOptions): Promise<ResolveTxtResponse>;
  /** Reverse DNS of an IPv4 or IPv6 address. */
  resolvePtr(address: string, opts?: ResolverCallOptions): Promise<ResolvePtrResponse>;
  /** TLSA records of a name such as `_25._tcp.mx.example.com` (DANE, RFC 7672). */
  resolveTlsa(name: string, opts?: ResolverCallOptions): Promise<ResolveTlsaResponse>;
  /** Closes the channel; calls still in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void;
}

export const DEFAULT_RESOLVER_DEADLINE_MS = 10_000;

const defaultChannelOptions: ChannelOptions = {
  // With a dns:/// target that resolves to several replicas (a headless Service),
  // round_robin keeps a connection to each and spreads calls over them; the
  // default pick_first would send everything to one replica.
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  // The service config above is the whole config: skip grpc-js's TXT lookup of
  // _grpc_config.<host>, which would only cost a DNS query per resolution.
  'grpc.service_config_disable_resolution': 1,
};

/**
 * Connects (lazily, on the first call) to a resolver at `target`, e.g.
 * `127.0.0.1:50051` or `dns:///dns-resolver:50051`.
 */
export function createResolverClient(target: string, opts: ResolverClientOptions = {}): ResolverClient {
  const client = new GeneratedResolverClient(target, opts.credentials ?? grpcCredentials.createInsecure(), {
    ...defaultChannelOptions,
    ...opts.channelOptions,
  });
  const defaultDeadlineMs = opts.defaultDeadlineMs ?? DEFAULT_RESOLVER_DEADLINE_MS;

  // The generated methods share one callback-style overload shape; this turns one
  // into a promise with a deadline, cancellation and RpcError on failure.
  function call<Res>(
    method: string,
    start: (
      metadata: Metadata,
      options: Partial<CallOptions>,
      callback: (error: ServiceError | null, response: Res) => void,
    ) => ClientUnaryCall,
    callOpts: ResolverCallOptions | undefined,
  ): Promise<Res> {
    const signal = callOpts?.signal;
    if (signal?.aborted) {
      return Promise.reject(new RpcError(status.CANCELLED, 'aborted before the call', method));
    }
    const deadline = Date.now() + (callOpts?.deadlineMs ?? defaultDeadlineMs);
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => unaryCall.cancel();
      const unaryCall = start(new Metadata(), { deadline }, (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(new RpcError(error.code, error.details, method, { cause: error }));
        else resolve(response);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    resolveMx: (domain, callOpts) =>
      call<ResolveMxResponse>('ResolveMx', (m, o, cb) => client.resolveMx({ domain }, m, o, cb), callOpts),
    resolveAddresses: (host, callOpts) =>
      call<ResolveAddressesResponse>(
        'ResolveAddresses',
        (m, o, cb) =>
          client.resolveAddresses(
            { host, family: callOpts?.family ?? AddressFamily.ADDRESS_FAMILY_UNSPECIFIED },
            m,
            o,
            cb,
          ),
        callOpts,
      ),
    resolveTxt: (name, callOpts) =>
      call<ResolveTxtResponse>('ResolveTxt', (m, o, cb) => client.resolveTxt({ name }, m, o, cb), callOpts),
    resolvePtr: (address, callOpts) =>
      call<ResolvePtrResponse>(
        'ResolvePtr',
        (m, o, cb) => client.resolvePtr({ address }, m, o, cb),
        callOpts,
      ),
    resolveTlsa: (name, callOpts) =>
      call<ResolveTlsaResponse>(
        'ResolveTlsa',
        (m, o, cb) => client.resolveTlsa({ name }, m, o, cb),
        callOpts,
      ),
    close: () => client.close(),
  };
}
