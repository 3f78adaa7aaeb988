import {
  type ChannelCredentials,
  credentials as grpcCredentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerWritableStream,
  status,
} from '@grpc/grpc-js';
import { RpcError } from './errors.js';
import {
  HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthServer,
} from './generated/grpc/health/v1/health.js';

/** The fully qualified name of the resolver service, as health checks name it. */
export const RESOLVER_SERVICE_NAME = 'tegami.resolver.v1.Resolver';

/** A service's status in the gRPC health-checking protocol (grpc.health.v1). */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const TO_WIRE: Record<HealthStatus, HealthCheckResponse_ServingStatus> = {
  UNKNOWN: HealthCheckResponse_ServingStatus.UNKNOWN,
  SERVING: HealthCheckResponse_ServingStatus.SERVING,
  NOT_SERVING: HealthCheckResponse_ServingStatus.NOT_SERVING,
  SERVICE_UNKNOWN: HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN,
};

function fromWire(value: HealthCheckResponse_ServingStatus): HealthStatus {
  switch (value) {
    case HealthCheckResponse_ServingStatus.SERVING:
      return 'SERVING';
    case HealthCheckResponse_ServingStatus.NOT_SERVING:
      return 'NOT_SERVING';
    case HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN:
      return 'SERVICE_UNKNOWN';
    default:
      return 'UNKNOWN';
  }
}

/**
 * The server side of grpc.health.v1.Health: a status per service name ("" for the server
 * as a whole), Check for probes and Watch for load balancers that follow changes.
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, HealthStatus>();
  private readonly watchers = new Set<{
    service: string;
    call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  }>();

  constructor(initial: Readonly<Record<string, HealthStatus>>) {
    for (const [service, value] of Object.entries(initial)) this.statuses.set(service, value);
  }

  set(service: string, value: HealthStatus): void {
    if (this.statuses.get(service) === value) return;
    this.statuses.set(service, value);
    for (const watcher of this.watchers) {
      if (watcher.service === service) watcher.call.write({ status: TO_WIRE[value] });
    }
  }

  /** Every known service to the same status (NOT_SERVING when draining). */
  setAll(value: HealthStatus): void {
    for (const service of [...this.statuses.keys()]) this.set(service, value);
  }

  /** Ends the Watch streams, so a graceful server shutdown does not wait on them. */
  endWatches(): void {
    for (const watcher of this.watchers) watcher.call.end();
    this.watchers.clear();
  }

  readonly handlers: HealthServer = {
    check: ((call, callback) => {
      const value = this.statuses.get(call.request.service);
      if (value === undefined) {
        callback({
          code: status.NOT_FOUND,
          details: `unknown service ${JSON.stringify(call.request.service)}`,
        });
        return;
      }
      callback(null, { status: TO_WIRE[value] });
    }) satisfies handleUnaryCall<HealthCheckRequest, HealthCheckResponse>,
    watch: ((call) => {
      const watcher = { service: call.request.service, call };
      this.watchers.add(watcher);
      call.on('cancelled', () => this.watchers.delete(watcher));
      call.write({ status: TO_WIRE[this.statuses.get(watcher.service) ?? 'SERVICE_UNKNOWN'] });
    }) satisfies handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse>,
  };
}

export interface CheckHealthOptions {
  /** "" (the default) asks about the server as a whole. */
  service?: string;
  deadlineMs?: number;
  credentials?: ChannelCredentials;
}

/**
 * One grpc.health.v1 Check against `target`, on a channel of its own. Rejects with an
 * RpcError when the server cannot be reached or does not know the service (NOT_FOUND).
 */
export function checkHealth(target: string, opts: CheckHealthOptions = {}): Promise<HealthStatus> {
  const client = new HealthClient(target, opts.credentials ?? grpcCredentials.createInsecure());
  const request = HealthCheckRequest.create({ service: opts.service ?? '' });
  return new Promise<HealthStatus>((resolve, reject) => {
    client.check(
      request,
      new Metadata(),
      { deadline: Date.now() + (opts.deadlineMs ?? 2_000) },
      (error, response: HealthCheckResponse) => {
        client.close();
        if (error) reject(new RpcError(error.code, error.details, 'Check', { cause: error }));
        else resolve(fromWire(response.status));
      },
    );
  });
}
