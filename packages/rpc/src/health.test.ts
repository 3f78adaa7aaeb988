import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthCheckResponse_ServingStatus, HealthClient } from './generated/grpc/health/v1/health.js';
import {
  checkHealth,
  GrpcStatus,
  RESOLVER_SERVICE_NAME,
  type ResolverImplementation,
  type ResolverServerHandle,
  RpcError,
  startResolverServer,
} from './index.js';

const never = () => new Promise<never>(() => {});
const idle: ResolverImplementation = {
  resolveMx: never,
  resolveAddresses: never,
  resolveTxt: never,
  resolvePtr: never,
  resolveTlsa: never,
};

describe('grpc.health.v1 on the resolver server', () => {
  let server: ResolverServerHandle;
  let target: string;

  beforeAll(async () => {
    server = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: idle });
    target = `127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.stop(100);
  });

  it('reports SERVING for the server and for tegami.resolver.v1.Resolver', async () => {
    expect(await checkHealth(target)).toBe('SERVING');
    expect(await checkHealth(target, { service: RESOLVER_SERVICE_NAME })).toBe('SERVING');
  });

  it('answers NOT_FOUND for a service it does not serve', async () => {
    const error = await checkHealth(target, { service: 'grpc.reflection.v1.ServerReflection' }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('tells Watch clients when the status changes', async () => {
    const client = new HealthClient(target, credentials.createInsecure());
    const stream = client.watch({ service: RESOLVER_SERVICE_NAME });
    const seen: HealthCheckResponse_ServingStatus[] = [];
    const twoUpdates = new Promise<void>((resolve) => {
      stream.on('data', (response: { status: HealthCheckResponse_ServingStatus }) => {
        seen.push(response.status);
        if (seen.length === 1) server.setServing(false);
        if (seen.length === 2) resolve();
      });
    });
    stream.on('error', () => undefined);
    await twoUpdates;
    expect(seen).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
    expect(await checkHealth(target)).toBe('NOT_SERVING');
    server.setServing(true);
    expect(await checkHealth(target)).toBe('SERVING');
    stream.cancel();
    client.close();
  });

  it('rejects with UNAVAILABLE when nothing listens', async () => {
    const other = await startResolverServer({ host: '127.0.0.1', port: 0, implementation: idle });
    await other.stop(100);
    const error = await checkHealth(`127.0.0.1:${other.port}`, { deadlineMs: 2_000 }).catch((e) => e);
    expect((error as RpcError).code).toBe(GrpcStatus.UNAVAILABLE);
  });
});
