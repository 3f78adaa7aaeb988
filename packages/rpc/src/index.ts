// @tegami/rpc: the gRPC contract between the delivery-worker and dns-resolver.
// Callers use the promise helpers and the message types; the grpc-js client and
// server classes stay inside this package. Each message name is both its type and
// its codec (ResolveMxResponse.create / encode / decode / fromJSON).
// It also holds the client of rspamd's HTTP protocol (scan with /checkv2, learn with
// /learnspam and /learnham): the other remote service the mail path calls.

export { type CachedResolverOptions, cachedResolverClient } from './cached-resolver-client.js';
export { GrpcStatus, RpcError } from './errors.js';
export {
  Address,
  AddressFamily,
  MxHost,
  ResolveAddressesRequest,
  ResolveAddressesResponse,
  ResolveMxRequest,
  ResolveMxResponse,
  ResolvePtrRequest,
  ResolvePtrResponse,
  ResolverService,
  ResolveStatus,
  ResolveTlsaRequest,
  ResolveTlsaResponse,
  ResolveTxtRequest,
  ResolveTxtResponse,
  TlsaRecord,
  TxtRecord,
} from './generated/tegami/resolver/v1/resolver.js';
export {
  type CheckHealthOptions,
  checkHealth,
  type HealthStatus,
  RESOLVER_SERVICE_NAME,
} from './health.js';
export {
  createNodeStyleResolver,
  DEFAULT_LOOKUP_DEADLINE_MS,
  type NodeStyleResolver,
  type NodeStyleResolverOptions,
} from './node-style-resolver.js';
export {
  createResolverClient,
  DEFAULT_RESOLVER_DEADLINE_MS,
  type ResolverCallOptions,
  type ResolverClient,
  type ResolverClientOptions,
} from './resolver-client.js';
export {
  DEFAULT_STOP_GRACE_MS,
  type ResolverCallContext,
  type ResolverImplementation,
  type ResolverServerHandle,
  type ResolverServerOptions,
  startResolverServer,
} from './resolver-server.js';
export {
  addressBytes,
  addressOfReverseName,
  reverseDnsNameOf,
  reversedAddressLabels,
  unwrapIpv4Mapped,
} from './reverse-names.js';
export {
  createRspamdClient,
  type RspamdCheckInput,
  type RspamdClient,
  type RspamdClientOptions,
  RspamdError,
  type RspamdErrorKind,
  type RspamdLearnResult,
} from './rspamd-client.js';
export { type RspamdAction, type RspamdVerdict, rspamdActionOf } from './rspamd-verdict.js';
export { publishStandaloneResolver, standaloneResolverTarget } from './standalone-resolver-address.js';
