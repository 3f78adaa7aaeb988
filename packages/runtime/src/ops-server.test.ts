import { type AddressInfo, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { type OpsServer, startOpsServer } from './ops-server.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const running: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function start(options: Partial<Parameters<typeof startOpsServer>[0]> = {}): Promise<OpsServer> {
  const server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    service: 'smtp-ingress',
    logger,
    ...options,
  });
  running.push(server);
  return server;
}

async function get(server: OpsServer, path: string) {
  const response = await fetch(`${server.url}${path}`);
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    body: type.includes('json') ? await response.json() : await response.text(),
  };
}

describe('the ops server', () => {
  it('listens on a free port and answers /healthz', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await get(server, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await get(server, '/nothing')).status).toBe(404);
  });

  it('says ready while every check passes, 503 with the reason while one fails, and ready again after', async () => {
    let natsUp = true;
    const server = await start({
      readinessChecks: {
        postgres: async () => {},
        nats: async () => {
          if (!natsUp) {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4222'), {
              code: 'ECONNREFUSED',
              address: '127.0.0.1',
              port: 4222,
            });
          }
        },
      },
    });
    expect(await get(server, '/readyz')).toEqual({
      status: 200,
      type: expect.stringContaining('application/json'),
      body: { status: 'ready', checks: { postgres: 'ok', nats: 'ok' } },
    });
    natsUp = false;
    expect(await get(server, '/readyz')).toMatchObject({
      status: 503,
      body: { status: 'not ready', checks: { postgres: 'ok', nats: 'connection refused (127.0.0.1:4222)' } },
    });
    natsUp = true;
    expect(await get(server, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('follows a real TCP dependency that stops and comes back', async () => {
    let dependency = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => dependency.listen(0, '127.0.0.1', resolve));
    const { port } = dependency.address() as AddressInfo;
    const reachable = () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      });
    const server = await start({ readinessChecks: { postgres: reachable } });
    expect((await get(server, '/readyz')).status).toBe(200);

    await new Promise((resolve) => dependency.close(resolve));
    expect(await get(server, '/readyz')).toMatchObject({
      status: 503,
      body: { status: 'not ready', checks: { postgres: `connection refused (127.0.0.1:${port})` } },
    });

    dependency = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => dependency.listen(port, '127.0.0.1', resolve));
    try {
      expect(await get(server, '/readyz')).toMatchObject({
        status: 200,
        body: { checks: { postgres: 'ok' } },
      });
    } finally {
      dependency.close();
    }
  });

  it('counts a check that hangs as down once its timeout passes', async () => {
    const server = await start({
      checkTimeoutMs: 200,
      readinessChecks: { postgres: () => new Promise(() => {}), nats: async () => {} },
    });
    const began = Date.now();
    const result = await get(server, '/readyz');
    expect(Date.now() - began).toBeLessThan(1500);
    expect(result).toMatchObject({
      status: 503,
      body: { status: 'not ready', checks: { postgres: 'timed out after 200 ms', nats: 'ok' } },
    });
  });

  it('reports a check that throws synchronously instead of failing the request', async () => {
    const server = await start({
      readinessChecks: {
        broken: () => {
          throw new Error('no connection yet');
        },
      },
    });
    expect(await get(server, '/readyz')).toMatchObject({
      status: 503,
      body: { checks: { broken: 'no connection yet' } },
    });
  });

  it('turns not ready at once when told, as a draining shutdown does', async () => {
    const server = await start({ readinessChecks: { postgres: async () => {} } });
    expect((await get(server, '/readyz')).status).toBe(200);
    server.markNotReady('shutting down');
    expect(await get(server, '/readyz')).toMatchObject({
      status: 503,
      body: { status: 'not ready', reason: 'shutting down' },
    });
    // Alive still: the process is draining, not dead.
    expect((await get(server, '/healthz')).status).toBe(200);
    server.markReady();
    expect((await get(server, '/readyz')).status).toBe(200);
  });

  it('serves Prometheus metrics labelled with the service', async () => {
    const server = await start();
    const { status, type, body } = await get(server, '/metrics');
    expect(status).toBe(200);
    expect(type).toBe(server.metrics.contentType);
    expect(type).toContain('text/plain');
    expect(body).toMatch(/^process_cpu_user_seconds_total\{service="smtp-ingress"\} [\d.e-]+$/m);
  });

  it('lets several servers in one process keep their own metrics', async () => {
    const smtp = await start({ service: 'smtp-ingress' });
    const imap = await start({ service: 'imap-gateway' });
    const imapMetrics = (await get(imap, '/metrics')).body as string;
    const smtpMetrics = (await get(smtp, '/metrics')).body as string;
    expect(imapMetrics).toContain('process_cpu_user_seconds_total{service="imap-gateway"}');
    expect(imapMetrics).not.toContain('service="smtp-ingress"');
    expect(smtpMetrics).toContain('process_cpu_user_seconds_total{service="smtp-ingress"}');
  });

  it('serves the metrics a service adds to its registry', async () => {
    const { Counter } = await import('prom-client');
    const { createMetricsRegistry } = await import('./ops-server.js');
    const registry = createMetricsRegistry('delivery-worker');
    const delivered = new Counter({
      name: 'tegami_delivered_total',
      help: 'Messages delivered',
      registers: [registry],
    });
    delivered.inc(3);
    const server = await start({ service: 'delivery-worker', registry });
    expect(server.metrics).toBe(registry);
    expect((await get(server, '/metrics')).body).toContain(
      'tegami_delivered_total{service="delivery-worker"} 3',
    );
  });
});
