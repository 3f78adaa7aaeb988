import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { Script } from 'node:vm';
import { VARIABLES } from '@tegami/runtime';
import {
  cleanEnv,
  createTestDatabase,
  type Program,
  type ProgramRun,
  runProgram,
  startProgram,
  type TestDatabase,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './support/processes.js';

// deploy/Dockerfile without a Docker engine: its build stage (the COPY and RUN steps, which
// call deploy/build-image-tree.sh) runs in a clean copy of the build context, and the
// resulting tree is the image's /app. The CLI and the five services then run from that tree
// with the image's ENV, the way deploy/compose.yaml runs them.

const DOCKERFILE = join(REPO_ROOT, 'deploy/Dockerfile');
const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose.yaml');

// The five services, each on a loopback address of its own (the image gives them all the same
// ports), with the port variables each one listens on and the standard port compose publishes
// it as (null: not published).
const SERVICES: Record<string, { address: string; listeners: Record<string, number | string | null> }> = {
  'smtp-ingress': {
    address: '127.0.0.91',
    listeners: {
      TEGAMI_SMTP_MX_PORT: 25,
      TEGAMI_SMTP_SUBMISSION_PORT: 587,
      TEGAMI_SMTP_SUBMISSIONS_PORT: 465,
    },
  },
  // The admin API and web console (TEGAMI_ADMIN_PORT: the image sets it), published on the
  // host's loopback only: plain HTTP with bearer tokens is not for other machines.
  'delivery-worker': { address: '127.0.0.92', listeners: { TEGAMI_ADMIN_PORT: '127.0.0.1:8081' } },
  'dns-resolver': { address: '127.0.0.93', listeners: { TEGAMI_GRPC_PORT: null } },
  'pop-gateway': { address: '127.0.0.94', listeners: { TEGAMI_POP_PORT: 110, TEGAMI_POPS_PORT: 995 } },
  'imap-gateway': {
    address: '127.0.0.95',
    listeners: { TEGAMI_IMAP_PORT: 143, TEGAMI_IMAPS_PORT: 993, TEGAMI_MANAGESIEVE_PORT: 4190 },
  },
};
const HOST_VARIABLES = VARIABLES.map((v) => v.name).filter((name) => name.endsWith('_HOST'));

// --- the Dockerfile --------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions by stage: continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(pending + line)!;
    pending = '';
    const instruction = { keyword: keyword!.toUpperCase(), args: args!.trim() };
    if (instruction.keyword === 'FROM') {
      stages.push({ name: /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** KEY=VALUE pairs of the stage's ENV instructions (the Dockerfile quotes none). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of argsOf(stage, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const [, key, value] = /^([A-Z_][A-Z0-9_]*)=([^"'\s]*)$/.exec(pair) ?? [];
      if (!key) throw new Error(`ENV ${args}: not KEY=VALUE pairs`);
      env[key] = value!;
    }
  }
  return env;
}

// --- the build context -----------------------------------------------------------------------

/** Docker's .dockerignore rules (patterns from the context root, `**`, `*`, `?`, `!`). */
function dockerignore(text: string): (file: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix.normalize(negate ? line.slice(1).trim() : line).replace(/^\/+|\/+$/g, '');
      let source = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (pattern.startsWith('**/', i)) {
          source += '(?:.*/)?';
          i += 2;
        } else if (pattern.startsWith('**', i)) {
          source += '.*';
          i += 1;
        } else if (c === '*') source += '[^/]*';
        else if (c === '?') source += '[^/]';
        else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, pattern: new RegExp(`^${source}$`) };
    });
  return (file) => {
    const parts = file.split('/');
    const paths = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    // A pattern that matches a directory excludes everything in it; the last matching rule wins.
    for (const rule of rules) if (paths.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
    return ignored;
  };
}

/** What `docker build .` would send: the files git knows (committed or not), less .dockerignore. */
function buildContext(): string[] {
  const ignored = dockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  const files = new Set(listed.split('\0').filter(Boolean));
  return [...files].filter((file) => {
    const stat = lstatSync(join(REPO_ROOT, file), { throwIfNoEntry: false });
    return stat?.isFile() && !ignored(file);
  });
}

function copyInto(tree: string, context: readonly string[], args: string): void {
  const words = args.split(/\s+/);
  if (words.some((w) => w.startsWith('--')))
    throw new Error(`COPY ${args}: the build stage copies from the context`);
  const destination = words.pop()!;
  for (const source of words) {
    const files =
      source === '.'
        ? context.map((file) => [file, file] as const)
        : source.endsWith('/')
          ? // A directory: what the context holds under it, into the destination directory.
            context
              .filter((file) => file.startsWith(source))
              .map((file) => [file, join(destination, file.slice(source.length))] as const)
          : [
              [
                source,
                destination.endsWith('/') ? join(destination, basename(source)) : destination,
              ] as const,
            ];
    if (files.length === 0) throw new Error(`COPY ${args}: nothing in the build context under ${source}`);
    for (const [from, to] of files) {
      if (!context.includes(from)) throw new Error(`COPY ${args}: ${from} is not in the build context`);
      mkdirSync(dirname(join(tree, to)), { recursive: true });
      copyFileSync(join(REPO_ROOT, from), join(tree, to));
    }
  }
}

// --- programs ----------------------------------------------------------------------------------

/** The environment of a fresh build: the machine's, without Tegami's, NODE_ENV or npm's settings. */
function buildEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv({});
  for (const key of Object.keys(env)) if (key === 'NODE_ENV' || key.startsWith('npm_')) delete env[key];
  return env;
}

async function mustRun(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  const run: ProgramRun = await runProgram(command, args, { cwd, env });
  if (run.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${run.code}:\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

async function waitReady(program: Program, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (program.child.exitCode !== null || program.child.signalCode !== null) {
      throw new Error(`exited (${program.child.exitCode ?? program.child.signalCode}):\n${program.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last}):\n${program.output()}`);
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(3000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

// --- the test --------------------------------------------------------------------------------

const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const buildStage = stages.find((s) => s.name === 'build');
const imageStage = stages.at(-1)!;
const imageEnv = envOf(imageStage);
const exposed = argsOf(imageStage, 'EXPOSE')
  .flatMap((args) => args.split(/\s+/))
  .map(Number);
// `merge`: compose files share settings through YAML merge keys (<<: *tegami).
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, unknown>>;
};
const composeCommand = (service: string) => compose.services[service]?.['command'] as string[];

let tree: string;
let dataDir: string;
let database: TestDatabase | undefined;
const running: Program[] = [];

beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), 'tegami-image-'));
  dataDir = join(tree, '.data');
  const context = buildContext();
  const args: Record<string, string> = {};
  if (!buildStage) throw new Error('deploy/Dockerfile has no stage named build');
  for (const { keyword, args: line } of buildStage.instructions) {
    if (keyword === 'ARG') {
      const [name, value = ''] = line.split('=');
      args[name!] = value;
    } else if (keyword === 'WORKDIR') {
      expect(line).toBe('/app');
    } else if (keyword === 'COPY') {
      copyInto(tree, context, line);
    } else if (keyword === 'RUN' && /^npm install -g pnpm@\$\{PNPM_VERSION\}/.test(line)) {
      // This machine has pnpm already: the same version, as the CI script installs it.
      const version = await mustRun('pnpm', ['--version'], tree, buildEnv());
      expect(version.stdout.trim()).toBe(args['PNPM_VERSION']);
    } else if (keyword === 'RUN' && /^sh deploy\/build-image-tree\.sh \w+$/.test(line)) {
      await mustRun('sh', line.split(' ').slice(1), tree, buildEnv());
    } else {
      throw new Error(`a build step this test does not know how to run: ${keyword} ${line}`);
    }
  }
}, 300_000);

afterAll(async () => {
  for (const program of running) program.signal('SIGKILL');
  await database?.drop();
  if (tree) rmSync(tree, { recursive: true, force: true });
});

describe('deploy/Dockerfile, built without Docker', () => {
  it('runs every step of the build through deploy/build-image-tree.sh, with the pnpm of package.json', () => {
    const steps = argsOf(buildStage!, 'RUN').filter((run) => run.includes('build-image-tree.sh'));
    expect(steps.map((run) => run.split(' ').at(-1))).toEqual(['fetch', 'build', 'prune']);
    const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(argsOf(buildStage!, 'ARG')).toContain(`PNPM_VERSION=${packageJson.packageManager.split('@')[1]}`);
    // The image is the build stage's /app, as it is, run by a user other than root.
    expect(argsOf(imageStage, 'COPY')).toEqual(['--from=build /app /app']);
    expect(argsOf(imageStage, 'WORKDIR')).toEqual(['/app']);
    expect(argsOf(imageStage, 'USER')).toEqual(['1000:1000']);
    expect(imageEnv['NODE_ENV']).toBe('production');
    // The context leaves out what the build makes, and git's own files.
    const ignored = dockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
    for (const path of ['.git/HEAD', 'node_modules/.modules.yaml', 'services/pop-gateway/node_modules/pg']) {
      expect(ignored(path), path).toBe(true);
    }
    expect(ignored('packages/store/dist/index.js')).toBe(true);
    expect(ignored('packages/store/migrations/0001_initial.sql')).toBe(false);
  });

  it('holds every program, the migrations and the CLI on the PATH, and no sources', async () => {
    for (const service of [...Object.keys(SERVICES), 'standalone']) {
      expect(existsSync(join(tree, 'services', service, 'dist/main.js')), service).toBe(true);
    }
    expect(
      readdirSync(join(tree, 'packages/store/migrations')).filter((f) => f.endsWith('.sql')),
    ).not.toEqual([]);
    for (const dir of ['packages', 'services']) {
      for (const project of readdirSync(join(tree, dir))) {
        expect(existsSync(join(tree, dir, project, 'src')), `${dir}/${project}/src`).toBe(false);
      }
    }
    // The web console, bundled (packages/admin/console/build.mjs): its files, not its sources.
    for (const file of ['index.html', 'app.js', 'app.css']) {
      expect(existsSync(join(tree, 'packages/admin/console-dist', file)), file).toBe(true);
    }
    expect(existsSync(join(tree, 'packages/admin/console'))).toBe(false);
    // `tegami` on the PATH is a link to the CLI's main.js, which must run by itself.
    const link = argsOf(imageStage, 'RUN')
      .join(' ')
      .match(/ln -s \/app\/(\S+) \/usr\/local\/bin\/tegami/);
    expect(link?.[1]).toBe('packages/cli/dist/main.js');
    const help = await mustRun(join(tree, link![1]!), ['--help'], tree, cleanEnv(imageEnv));
    expect(help.stdout).toContain('Usage: tegami');
    // And so must the image's default command.
    const cmd = JSON.parse(argsOf(imageStage, 'CMD')[0]!) as string[];
    const byDefault = await mustRun(cmd[0]!, cmd.slice(1), tree, cleanEnv(imageEnv));
    expect(byDefault.stdout).toContain('Usage: tegami');
  });

  it('installs production dependencies only', () => {
    const manifest = (dir: string) => JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8'));
    const projects = [
      '.',
      ...['packages', 'services'].flatMap((d) => readdirSync(join(REPO_ROOT, d)).map((p) => `${d}/${p}`)),
    ];
    // @tegami/testing is a devDependency wherever it is used: its own dependencies are dev ones too.
    const shipped = projects.filter((p) => p !== '.' && p !== 'packages/testing');
    const prod = new Set(shipped.flatMap((p) => Object.keys(manifest(p).dependencies ?? {})));
    const dev = [
      ...projects.flatMap((p) => Object.keys(manifest(p).devDependencies ?? {})),
      ...Object.keys(manifest('packages/testing').dependencies),
    ].filter((name, i, all) => !prod.has(name) && all.indexOf(name) === i);
    expect(dev).toEqual(
      expect.arrayContaining([
        'typescript',
        'vitest',
        'tsx',
        '@biomejs/biome',
        'testcontainers',
        '@tegami/testing',
      ]),
    );
    const store = readdirSync(join(tree, 'node_modules/.pnpm'));
    for (const name of dev) {
      for (const project of projects) {
        expect(existsSync(join(tree, project, 'node_modules', name)), `${name} in ${project}`).toBe(false);
      }
      // Type packages are inert, and some libraries list them as dependencies (@types/node).
      if (name.startsWith('@types/')) continue;
      const own = `${name.replace('/', '+')}@`;
      // A library the tests use directly may also be one a shipped package needs (ajv, which
      // fastify validates with): it belongs then, as that package's dependency, not the tests'.
      const neededInProduction = store.some(
        (entry) =>
          !entry.startsWith(own) && existsSync(join(tree, 'node_modules/.pnpm', entry, 'node_modules', name)),
      );
      if (neededInProduction) continue;
      expect(
        store.filter((entry) => entry.startsWith(own)),
        `${name} in node_modules/.pnpm`,
      ).toEqual([]);
    }
  });
});

describe('deploy/compose.yaml', () => {
  it('runs the one image with each service entry point, publishing the standard ports', () => {
    const services = compose.services;
    for (const [name, spec] of Object.entries(SERVICES)) {
      const service = services[name]!;
      expect(service['build'], name).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(resolve(dirname(COMPOSE_FILE), '..')).toBe(resolve(REPO_ROOT));
      expect(composeCommand(name)).toEqual(['node', `services/${name}/dist/main.js`]);
      expect(existsSync(join(tree, composeCommand(name)[1]!))).toBe(true);
      const expected = Object.entries(spec.listeners)
        .filter(([, standard]) => standard !== null)
        .map(([variable, standard]) => `${standard}:${imageEnv[variable]}`);
      expect(((service['ports'] ?? []) as string[]).sort(), name).toEqual(expected.sort());
      const [kind, program, flag, script] = (service['healthcheck'] as { test: string[] }).test;
      expect([kind, program, flag]).toEqual(['CMD', 'node', '-e']);
      expect(script).toContain('/readyz');
      expect(script).toContain('TEGAMI_OPS_PORT');
      expect(() => new Script(script!)).not.toThrow();
      if (name !== 'dns-resolver') {
        expect(service['depends_on'], name).toMatchObject({
          migrate: { condition: 'service_completed_successfully' },
        });
      }
    }
    expect(composeCommand('migrate')).toEqual(['node', 'packages/cli/dist/main.js', 'migrate']);
    // Compose substitutes ${...} in commands: none may rely on a dollar sign.
    for (const [name, service] of Object.entries(services)) {
      expect(JSON.stringify(service['command'] ?? ''), name).not.toContain('$');
    }
  });
});

describe('the pruned tree, run as the image runs it', () => {
  it('migrates a fresh database with the compose migrate command, and tegami check passes', async () => {
    database = await createTestDatabase();
    const nats = await testNats();
    const env = cleanEnv({
      ...imageEnv,
      TEGAMI_DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      TEGAMI_NATS_PREFIX: nats.prefix,
    });
    const [command, ...args] = composeCommand('migrate');
    await mustRun(command!, args, tree, env);
    const check = await mustRun('node', ['packages/cli/dist/main.js', 'check'], tree, env);
    expect(check.stdout).toMatch(/postgres\s+ok/);
  });

  it('makes the TLS certificate with the compose tls-cert command, once', async () => {
    const [command, ...args] = composeCommand('tls-cert');
    const env = cleanEnv({ ...imageEnv, TEGAMI_DATA_DIR: dataDir, TEGAMI_HOSTNAME: 'mail.example.test' });
    const first = await mustRun(command!, args, tree, env);
    expect(first.stdout).toContain('self-signed certificate for mail.example.test');
    expect(existsSync(join(dataDir, 'tls/cert.pem'))).toBe(true);
    expect(existsSync(join(dataDir, 'tls/key.pem'))).toBe(true);
    const again = await mustRun(command!, args, tree, env);
    expect(again.stdout).toBe('');
  });

  it('starts each service with the image ENV: ready on /readyz, listening on the exposed ports, exit 0 on SIGTERM', async () => {
    expect(database, 'the migration test ran').toBeDefined();
    const nats = await testNats();
    expect(HOST_VARIABLES).toEqual(expect.arrayContaining(['TEGAMI_OPS_HOST', 'TEGAMI_GRPC_HOST']));
    const listened = new Set<number>();
    const programs = Object.entries(SERVICES).map(([name, spec]) => {
      const env = cleanEnv({
        ...imageEnv,
        ...Object.fromEntries(HOST_VARIABLES.map((variable) => [variable, spec.address])),
        DATABASE_URL: database!.url,
        NATS_URL: nats.url,
        TEGAMI_NATS_PREFIX: nats.prefix,
        TEGAMI_TLS_CERT_FILE: join(dataDir, 'tls/cert.pem'),
        TEGAMI_TLS_KEY_FILE: join(dataDir, 'tls/key.pem'),
        TEGAMI_RESOLVER_TARGET: `${SERVICES['dns-resolver']!.address}:${imageEnv['TEGAMI_GRPC_PORT']}`,
      });
      const program = startProgram('node', [`services/${name}/dist/main.js`], { cwd: tree, env });
      running.push(program);
      return { name, spec, program };
    });
    await Promise.all(
      programs.map(async ({ name, spec, program }) => {
        await waitReady(program, `http://${spec.address}:${imageEnv['TEGAMI_OPS_PORT']}/readyz`);
        for (const variable of [...Object.keys(spec.listeners), 'TEGAMI_OPS_PORT']) {
          const port = Number(imageEnv[variable]);
          expect(port, `${variable} in the image ENV`).toBeGreaterThanOrEqual(1024);
          expect(await accepts(spec.address, port), `${name} on ${variable}=${port}`).toBe(true);
          listened.add(port);
        }
      }),
    );
    expect([...listened].sort()).toEqual([...exposed].sort());
    for (const { program } of programs) program.signal('SIGTERM');
    for (const { name, program } of programs) expect(await program.exited(30_000), name).toBe(0);
  });
});
