import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { variablesFor } from '@tegami/runtime';
import { cleanEnv, runProgram } from '@tegami/testing';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { helmBinary } from '../scripts/helm-binary.js';
import { REPO_ROOT } from './support/processes.js';
import {
  checkv2,
  controllerPost,
  GTUBE,
  type RedisDaemon,
  type RspamdDaemon,
  spamMessage,
  startRedisServer,
  startRspamd,
} from './support/rspamd-daemon.js';

// deploy/compose.yaml's rspamd and Redis: the Helm chart's rspamd settings (but for the
// Redis they name) and images, wired to smtp-ingress and the imap-gateway with one
// password; then run as compose runs them, by Debian's rspamd and redis-server, with their
// healthchecks. (test/container-image.test.ts checks the Tegami services of the file.)

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose.yaml');
const CHART_LOCAL_D = join(REPO_ROOT, 'helm/tegami/files/rspamd/local.d');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  configs?: { source: string; target: string }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
// `merge`: compose files share settings through YAML merge keys (<<: *tegami).
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  configs: Record<string, { content?: string }>;
};
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`compose.yaml has no service ${name}`);
  return found;
};

/** Compose's ${VAR:-default} and ${VAR}, on a host that sets none of them. */
const interpolate = (text: string): string =>
  text.replace(
    /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g,
    (_, fallback: string | undefined) => fallback ?? '',
  );

/** The directory a bind mount of the service takes to `target`, as compose resolves it. */
function bindSource(spec: ComposeService, target: string): string | undefined {
  for (const volume of spec.volumes ?? []) {
    const [source, mountedAt, mode] = volume.split(':');
    if (mountedAt === target && source!.startsWith('.')) {
      expect(mode, `${volume} read-only`).toBe('ro');
      return resolve(dirname(COMPOSE_FILE), source!);
    }
  }
  return undefined;
}

const readDir = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));

/** The port a worker's local.d file binds, from `bind_socket = "*:PORT";`. */
const boundPort = (localD: Record<string, string>, file: string): number =>
  Number(/^bind_socket = "\*:(\d+)";$/m.exec(localD[file] ?? '')?.[1]);

interface Image {
  repository: string;
  tag: string;
}

/** The images of the chart's values.yaml. */
function chartImages(): { rspamd: Image; redis: Image } {
  const values = parse(readFileSync(join(REPO_ROOT, 'helm/tegami/values.yaml'), 'utf8'));
  return { rspamd: values.rspamd.image, redis: values.rspamd.redis.image };
}

/** The chart's Redis Deployment, rendered with rspamd on. */
function chartRedis(): IDeployment {
  const run = spawnSync(helmBinary(), ['template', 't', 'helm/tegami', '--set', 'rspamd.enabled=true'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  const redis = parseAllDocuments(run.stdout)
    .map((doc) => doc.toJS() as { kind: string; metadata: { name: string } } | null)
    .find((o) => o?.kind === 'Deployment' && o.metadata.name === 't-tegami-rspamd-redis');
  expect(redis, 'the chart renders its Redis').toBeDefined();
  return redis as IDeployment;
}

describe('deploy/compose.yaml: rspamd and its Redis', () => {
  const localD = readDir(bindSource(service('rspamd'), '/etc/rspamd/local.d') ?? '/nonexistent');

  it('gives rspamd the Helm chart’s settings and images, and the Redis of compose', () => {
    const { 'redis.conf': redisConf, ...shared } = localD;
    expect(shared).toEqual(readDir(CHART_LOCAL_D));
    const images = chartImages();
    expect(service('rspamd').image).toBe(`${images.rspamd.repository}:${images.rspamd.tag}`);
    expect(service('redis').image).toBe(`${images.redis.repository}:${images.redis.tag}`);

    // Redis runs as the chart runs it, and rspamd names it by its compose service name.
    const command = service('redis').command!;
    const chartContainer = chartRedis().spec!.template.spec!.containers[0]!;
    expect(command).toEqual([...chartContainer.command!, ...chartContainer.args!]);
    const [host, port] = /^servers = "([^"]+)";$/m.exec(redisConf ?? '')![1]!.split(':');
    expect(compose.services[host!], `a compose service named ${host}`).toBeDefined();
    expect(port).toBe(command[command.indexOf('--port') + 1]);
    expect(service('rspamd').depends_on?.[host!]).toEqual({ condition: 'service_healthy' });
  });

  it('points smtp-ingress at the scanner and the imap-gateway at the controller, with the password rspamd has', () => {
    const smtp = service('smtp-ingress').environment!;
    const imap = service('imap-gateway');
    const normal = new URL(smtp['TEGAMI_RSPAMD_URL']!);
    expect([normal.hostname, Number(normal.port)]).toEqual([
      'rspamd',
      boundPort(localD, 'worker-normal.inc'),
    ]);
    const controller = new URL(imap.environment!['TEGAMI_RSPAMD_CONTROLLER_URL']!);
    expect([controller.hostname, Number(controller.port)]).toEqual([
      'rspamd',
      boundPort(localD, 'worker-controller.inc'),
    ]);
    const file = imap.environment!['TEGAMI_RSPAMD_PASSWORD_FILE'];
    const config = imap.configs?.find((c) => c.target === file);
    expect(config, `a config mounted at ${file}`).toBeDefined();
    const password = interpolate(compose.configs[config!.source]!.content!);
    expect(password.length).toBeGreaterThan(0);
    expect(interpolate(service('rspamd').environment!['RSPAMD_CONTROLLER_PASSWORD']!)).toBe(password);

    // smtp-ingress authenticates mail through the dns-resolver, and waits for both.
    expect(smtp['TEGAMI_RESOLVER_TARGET']).toBe('dns:///dns-resolver:50051');
    expect(service('smtp-ingress').depends_on).toMatchObject({
      'dns-resolver': { condition: 'service_healthy' },
      rspamd: { condition: 'service_healthy' },
    });
    // Each is a setting the service it is given to reads.
    for (const [name, variables] of [
      ['smtp-ingress', ['TEGAMI_RSPAMD_URL', 'TEGAMI_RESOLVER_TARGET']],
      ['imap-gateway', ['TEGAMI_RSPAMD_CONTROLLER_URL', 'TEGAMI_RSPAMD_PASSWORD_FILE']],
    ] as const) {
      const reads = variablesFor(name).map((v) => v.name);
      for (const variable of variables) expect(reads, name).toContain(variable);
    }
  });

  describe('run as compose runs them', () => {
    let redis: RedisDaemon | undefined;
    let rspamd: RspamdDaemon | undefined;
    afterAll(async () => {
      await rspamd?.stop();
      await redis?.stop();
    });

    it('starts Redis from its command and rspamd with deploy/rspamd, both healthy by their healthchecks; rspamd rejects GTUBE and learns with the imap-gateway’s password', async () => {
      const [program, ...args] = service('redis').command!;
      expect(program).toBe('redis-server');
      redis = await startRedisServer(args);
      const redisCheck = service('redis').healthcheck!.test;
      expect(redisCheck.slice(0, 2)).toEqual(['CMD', 'redis-cli']);
      const pinged = await runProgram('redis-cli', ['-p', String(redis.port), ...redisCheck.slice(2)], {
        cwd: REPO_ROOT,
        env: cleanEnv({}),
      });
      expect([pinged.code, pinged.stdout.trim()]).toEqual([0, 'PONG']);

      const env = Object.fromEntries(
        Object.entries(service('rspamd').environment ?? {}).map(([key, value]) => [key, interpolate(value)]),
      );
      rspamd = await startRspamd({ localD, env, redisPort: redis.port });
      // The healthcheck asks the controller on loopback; here it listens on another port.
      const [kind, ...check] = service('rspamd').healthcheck!.test;
      expect(kind).toBe('CMD');
      const controllerAddress = `127.0.0.1:${boundPort(localD, 'worker-controller.inc')}`;
      expect(check).toContain(controllerAddress);
      const here = check.map((word) =>
        word === controllerAddress ? new URL(rspamd!.controllerUrl).host : word,
      );
      const healthy = await runProgram(here[0]!, here.slice(1), { cwd: REPO_ROOT, env: cleanEnv({}) });
      expect(healthy.code, `${healthy.stdout}${healthy.stderr}`).toBe(0);

      const gtube = await checkv2(
        rspamd.normalUrl,
        ['From: bob@example.org', 'To: alice@example.net', 'Subject: test', '', GTUBE, ''].join('\r\n'),
        { ip: '198.51.100.9', helo: 'mail.example.org', from: 'bob@example.org', rcpt: 'alice@example.net' },
      );
      expect(gtube.action).toBe('reject');

      const imap = service('imap-gateway');
      const config = imap.configs!.find(
        (c) => c.target === imap.environment!['TEGAMI_RSPAMD_PASSWORD_FILE'],
      )!;
      const password = interpolate(compose.configs[config.source]!.content!);
      expect(
        (await controllerPost(rspamd.controllerUrl, '/learnspam', spamMessage(2), undefined)).status,
      ).toBe(401);
      const learned = await controllerPost(rspamd.controllerUrl, '/learnspam', spamMessage(2), password);
      expect(learned, rspamd.output().slice(-3000)).toEqual({ status: 200, body: '{"success":true}' });
      expect(await redis.dbsize()).toBeGreaterThan(0);
    }, 300_000);
  });
});
