import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMetricsRegistry,
  ensureSelfSignedCertificate,
  type ServiceName,
  variablesFor,
} from '@tegami/runtime';
import { migrate, openStore } from '@tegami/store';
import {
  createTestDatabase,
  type Program,
  type TestDatabase,
  type TestNats,
  testNats,
} from '@tegami/testing';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IContainer, IContainerPort, IEnvVar, IService } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../scripts/helm-binary.js';
import { REPO_ROOT, runInRepo, startInRepo } from './support/processes.js';
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

// The Helm chart (helm/tegami): lint, render with the default values and with
// ci/all-on-values.yaml, validate every object against the Kubernetes schemas, check how the
// objects fit together, and start every Deployment's entry point from source with the
// Deployment's own environment to see that it listens where the Deployment says.

const CHART = 'helm/tegami';
const ALL_ON = `${CHART}/ci/all-on-values.yaml`;
const SERVICES: readonly ServiceName[] = [
  'smtp-ingress',
  'delivery-worker',
  'dns-resolver',
  'pop-gateway',
  'imap-gateway',
];
/** The variable that carries each named container port into its service. */
const PORT_VARIABLES: Readonly<Record<string, string>> = {
  smtp: 'TEGAMI_SMTP_MX_PORT',
  submission: 'TEGAMI_SMTP_SUBMISSION_PORT',
  submissions: 'TEGAMI_SMTP_SUBMISSIONS_PORT',
  pop3: 'TEGAMI_POP_PORT',
  pop3s: 'TEGAMI_POPS_PORT',
  imap: 'TEGAMI_IMAP_PORT',
  imaps: 'TEGAMI_IMAPS_PORT',
  managesieve: 'TEGAMI_MANAGESIEVE_PORT',
  grpc: 'TEGAMI_GRPC_PORT',
  ops: 'TEGAMI_OPS_PORT',
  'mta-sts': 'TEGAMI_MTA_STS_PORT',
  admin: 'TEGAMI_ADMIN_PORT',
};
const IMPLICIT_TLS_PORTS = ['submissions', 'pop3s', 'imaps'];

/** The metrics the services export (and those being added with the dashboard), histograms marked. */
const LISTED_METRICS = [
  'tegami_smtp_connections_total',
  'tegami_smtp_connections_active',
  'tegami_smtp_connections_refused_total',
  'tegami_smtp_transactions_total',
  'tegami_smtp_message_size_bytes:histogram',
  'tegami_smtp_queue_latency_seconds:histogram',
  'tegami_smtp_auth_total',
  'tegami_delivery_outcomes_total',
  'tegami_delivery_attempts_total',
  'tegami_delivery_latency_seconds:histogram',
  'tegami_delivery_domain_connections',
  'tegami_delivery_jobs_total',
  'tegami_delivery_queue_oldest_pending_seconds',
  'tegami_delivery_queue_depth',
  'tegami_pop_connections_total',
  'tegami_pop_connections_active',
  'tegami_pop_logins_total',
  'tegami_pop_messages_retrieved_total',
  'tegami_pop_messages_deleted_total',
  'tegami_pop_commands_total',
  'tegami_pop_command_duration_seconds:histogram',
  'tegami_imap_connections_total',
  'tegami_imap_connections_active',
  'tegami_imap_logins_total',
  'tegami_imap_commands_total',
  'tegami_imap_command_duration_seconds:histogram',
  'tegami_dns_queries_total',
  'tegami_dns_cache_hits_total',
  'tegami_dns_upstream_duration_seconds:histogram',
  'tegami_errors_total',
  // Land with issue 14 (mail authentication and spam), written alongside the dashboard's panels.
  'tegami_auth_results_total',
  'tegami_spam_actions_total',
  'tegami_spam_learn_total',
  'tegami_smtp_connection_checks_total',
];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered objects of every kind; the models validate them
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  data?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  stringData?: any;
  type?: string;
}

function helm(args: readonly string[]): string {
  const run = spawnSync(helmBinary(), args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout + run.stderr;
}

function render(args: readonly string[] = []): K8sObject[] {
  const output = helm(['template', 'post', CHART, '--namespace', 'mail', ...args]);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(output)) {
    if (doc.errors.length > 0) throw new Error(`helm template printed bad YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

function renderFails(args: readonly string[]): string {
  const run = spawnSync(helmBinary(), ['template', 'post', CHART, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  expect(run.status, `helm template ${args.join(' ')} should fail`).not.toBe(0);
  return run.stderr;
}

/** The kubernetes-models class for an object's apiVersion and kind, or undefined. */
async function modelFor(
  apiVersion: string,
  kind: string,
): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module =
    group === ''
      ? `kubernetes-models/${version}`
      : group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/${group}/${version}`
        : `kubernetes-models/${group}/${version}`;
  const models = (await import(module).catch(() => ({}))) as Record<string, unknown>;
  const model = models[kind];
  return typeof model === 'function' ? (model as new (data: unknown) => { validate(): void }) : undefined;
}

const ofKind = <T = K8sObject>(objects: readonly K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];

/** An object of the rspamd the chart runs, or of its Redis. */
const isRspamdObject = (o: K8sObject): boolean =>
  ['rspamd', 'rspamd-redis'].includes(o.metadata.labels?.['app.kubernetes.io/component'] ?? '');

/** The Deployments of Tegami's five services (not rspamd's or its Redis's). */
const serviceDeployments = (objects: readonly K8sObject[]): IDeployment[] =>
  ofKind<IDeployment>(objects, 'Deployment').filter((d) =>
    (SERVICES as readonly string[]).includes(
      d.spec!.template.metadata!.labels!['app.kubernetes.io/component']!,
    ),
  );

const named = (objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

const hookEvents = (o: K8sObject): string[] =>
  (o.metadata.annotations?.['helm.sh/hook'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function deploymentOf(objects: readonly K8sObject[], component: string): IDeployment {
  const found = serviceDeployments(objects).filter((d) => componentOf(d) === component);
  expect(found, component).toHaveLength(1);
  return found[0]!;
}

function container(deployment: IDeployment): IContainer {
  const containers = deployment.spec!.template.spec!.containers;
  expect(containers, deployment.metadata!.name).toHaveLength(1);
  return containers[0]!;
}

function componentOf(deployment: IDeployment): ServiceName {
  const component = deployment.spec!.template.metadata!.labels!['app.kubernetes.io/component'];
  expect(SERVICES).toContain(component);
  return component as ServiceName;
}

function literalEnv(c: IContainer): Record<string, string> {
  return Object.fromEntries(
    (c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
  );
}

/** The container port a probe or Service names (by name or number). */
function portOf(c: IContainer, port: number | string | undefined): IContainerPort | undefined {
  return (c.ports ?? []).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

/** How long the preStop hook waits, in seconds (0 without one). */
function preStopSeconds(c: IContainer): number {
  const preStop = c.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds;
  const script = preStop.exec?.command?.join(' ') ?? '';
  const ms = /setTimeout\(.*,\s*(\d+)\)/.exec(script);
  if (!ms) throw new Error(`unrecognised preStop hook: ${script}`);
  return Number(ms[1]) / 1000;
}

describe('helm/tegami', () => {
  let defaults: K8sObject[];
  let allOn: K8sObject[];

  beforeAll(() => {
    defaults = render();
    allOn = render(['-f', ALL_ON]);
  });

  it('passes helm lint --strict, with the default values and with every option on', () => {
    expect(helm(['lint', '--strict', CHART])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(helm(['lint', '--strict', CHART, '-f', ALL_ON])).toMatch(
      /1 chart\(s\) linted, 0 chart\(s\) failed/,
    );
  });

  it('refuses values the schema or the templates do not allow', () => {
    expect(renderFails(['--set', 'smtpIngress.settings.maxRecipents=5'])).toMatch(/maxRecipents/);
    expect(renderFails(['--set', 'drain.timeoutSeconds=soon'])).toMatch(/timeoutSeconds/);
    expect(renderFails(['--set', 'proxyProtocol.enabled=true'])).toMatch(/trustedCidrs is required/);
    expect(renderFails(['--set', 'tls.minVersion=TLSv1.1'])).toMatch(/minVersion/);
    expect(renderFails(['--set', 'legacySasl.enabled=true'])).toMatch(
      /legacySasl.enabled is true, but there is no key/,
    );
  });

  it('renders only objects that validate against the Kubernetes schemas', async () => {
    const rspamdVariants = [
      ['--set', 'rspamd.enabled=true'],
      ['--set', 'rspamd.enabled=true', '--set', 'rspamd.external.url=http://spam.example.net:11333'],
      [
        ...['--set', 'rspamd.enabled=true', '--set', 'rspamd.redis.enabled=false'],
        ...['--set', 'rspamd.redis.servers=redis1.example.net:6380'],
        ...['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.egress.enabled=true'],
      ],
    ].map((args) => render(args));
    for (const objects of [defaults, allOn, ...rspamdVariants]) {
      expect(objects.length).toBeGreaterThan(10);
      for (const object of objects) {
        const where = `${object.kind} ${object.metadata?.name}`;
        const Model = await modelFor(object.apiVersion, object.kind);
        expect(Model, `no schema for ${object.apiVersion} ${object.kind} (${where})`).toBeDefined();
        expect(() => new Model!(object).validate(), where).not.toThrow();
        expect(object.metadata.name.length, where).toBeLessThanOrEqual(63);
      }
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(keys).size, 'duplicate objects').toBe(keys.length);
    }
  });

  it('runs every service as a Deployment with probes on the ops port, a locked-down container, resources and a grace period longer than the drain', () => {
    for (const objects of [defaults, allOn]) {
      const deployments = serviceDeployments(objects);
      expect(deployments.map(componentOf).sort()).toEqual([...SERVICES].sort());
      for (const deployment of deployments) {
        const name = deployment.metadata!.name!;
        const component = componentOf(deployment);
        const pod = deployment.spec!.template.spec!;
        const c = container(deployment);
        const env = literalEnv(c);

        expect(c.command, name).toEqual(['node']);
        expect(c.args, name).toEqual([`services/${component}/dist/main.js`]);
        expect(
          matches(deployment.spec!.selector.matchLabels!, deployment.spec!.template.metadata!.labels),
          name,
        ).toBe(true);

        const ops = portOf(c, 'ops');
        expect(ops?.containerPort, name).toBe(Number(env['TEGAMI_OPS_PORT']));
        for (const [probe, path] of [
          [c.livenessProbe, '/healthz'],
          [c.readinessProbe, '/readyz'],
        ] as const) {
          expect(probe?.httpGet?.path, name).toBe(path);
          expect(portOf(c, probe?.httpGet?.port), `${name} probe port`).toBe(ops);
        }

        const security = { ...pod.securityContext, ...c.securityContext };
        expect(security.runAsNonRoot, name).toBe(true);
        expect(c.securityContext?.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, name).toContain('ALL');
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, `${name} /tmp`).toBeDefined();

        expect(c.resources?.requests?.['cpu'], name).toBeDefined();
        expect(c.resources?.requests?.['memory'], name).toBeDefined();
        expect(c.resources?.limits?.['memory'], name).toBeDefined();

        const drainSeconds = Number(env['TEGAMI_SHUTDOWN_TIMEOUT_MS']) / 1000;
        expect(drainSeconds, name).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds, name).toBeGreaterThan(drainSeconds + preStopSeconds(c));

        // Only variables the service reads: an unknown TEGAMI_* variable stops it.
        const known = new Set(variablesFor(component).map((v) => v.name));
        const names = (c.env ?? []).map((e) => e.name);
        expect(new Set(names).size, `${name} sets a variable twice`).toBe(names.length);
        for (const variable of names.filter((n) => n.startsWith('TEGAMI_') || n.endsWith('_URL'))) {
          expect(known.has(variable), `${name} sets ${variable}, which ${component} does not read`).toBe(
            true,
          );
        }
        // Each container port reaches the service through its variable.
        for (const port of c.ports ?? []) {
          expect(env[PORT_VARIABLES[port.name!]!], `${name} ${port.name}`).toBe(String(port.containerPort));
        }
      }
    }
  });

  it('takes the Postgres and NATS URLs from a Secret: the chart’s own, or an existing one', () => {
    const check = (objects: readonly K8sObject[], secret: string, keys: Record<string, string>) => {
      for (const deployment of serviceDeployments(objects)) {
        const env = container(deployment).env ?? [];
        if (componentOf(deployment) === 'dns-resolver') {
          expect(env.find((e) => e.name === 'DATABASE_URL')).toBeUndefined();
          continue;
        }
        for (const [variable, key] of Object.entries(keys)) {
          const ref = env.find((e: IEnvVar) => e.name === variable)?.valueFrom?.secretKeyRef;
          expect(ref, `${deployment.metadata!.name} ${variable}`).toEqual({ name: secret, key });
        }
      }
    };
    const own = named(defaults, 'Secret', 'post-tegami');
    expect(Object.keys(own?.stringData ?? {}).sort()).toEqual(['DATABASE_URL', 'NATS_URL']);
    check(defaults, 'post-tegami', { DATABASE_URL: 'DATABASE_URL', NATS_URL: 'NATS_URL' });

    expect(ofKind(allOn, 'Secret'), 'no Secret of its own with secrets.existingSecret').toEqual([]);
    check(allOn, 'tegami-backends', { DATABASE_URL: 'postgres-url', NATS_URL: 'nats-url' });
    for (const deployment of serviceDeployments(allOn)) {
      expect(deployment.spec!.template.metadata!.annotations?.['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('mounts the TLS Secret for the mail services, sets their TLS policy when given, and exposes the implicit-TLS ports only with it', () => {
    for (const deployment of serviceDeployments(defaults)) {
      const c = container(deployment);
      expect(c.ports?.filter((p) => IMPLICIT_TLS_PORTS.includes(p.name!))).toEqual([]);
      expect(literalEnv(c)['TEGAMI_TLS_CERT_FILE']).toBeUndefined();
      // The services' own policy (forward-secret AEAD suites, TLS 1.2 and up) unless set.
      expect(literalEnv(c)['TEGAMI_TLS_CIPHERS']).toBeUndefined();
      expect(literalEnv(c)['TEGAMI_TLS_MIN_VERSION']).toBeUndefined();
    }
    for (const service of ofKind<IService>(defaults, 'Service')) {
      expect(service.spec!.ports!.filter((p) => IMPLICIT_TLS_PORTS.includes(p.name!))).toEqual([]);
    }
    const tlsServers = ['smtp-ingress', 'pop-gateway', 'imap-gateway'];
    for (const deployment of serviceDeployments(allOn)) {
      const component = componentOf(deployment);
      const c = container(deployment);
      const env = literalEnv(c);
      const pod = deployment.spec!.template.spec!;
      if (!tlsServers.includes(component)) {
        expect(env['TEGAMI_TLS_CERT_FILE'], component).toBeUndefined();
        expect(env['TEGAMI_TLS_CIPHERS'], component).toBeUndefined();
        continue;
      }
      expect(env['TEGAMI_TLS_CIPHERS'], component).toBe(
        'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256',
      );
      expect(env['TEGAMI_TLS_MIN_VERSION'], component).toBe('TLSv1.2');
      expect(
        c.ports?.some((p) => IMPLICIT_TLS_PORTS.includes(p.name!)),
        component,
      ).toBe(true);
      const mount = c.volumeMounts?.find((m) => env['TEGAMI_TLS_CERT_FILE']?.startsWith(`${m.mountPath}/`));
      expect(mount?.readOnly, `${component} mounts its certificate read-only`).toBe(true);
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.secret?.secretName).toBe('mx-example-org-tls');
      expect(env['TEGAMI_TLS_CERT_FILE']).toBe(`${mount!.mountPath}/tls.crt`);
      expect(env['TEGAMI_TLS_KEY_FILE']).toBe(`${mount!.mountPath}/tls.key`);
    }
    const ports = (name: string) =>
      named(allOn, 'Service', name)!.spec.ports.map((p: { port: number }) => p.port);
    expect(ports('mail-smtp')).toEqual([25, 587, 465]);
    expect(ports('mail-pop')).toEqual([110, 995]);
    expect(ports('mail-imap')).toEqual([143, 993, 4190]);
  });

  it('mounts the secrets key file into the login services and the delivery-worker (DKIM) only, from a Secret, and sets nothing without one', () => {
    const keyReaders = ['smtp-ingress', 'pop-gateway', 'imap-gateway', 'delivery-worker'];
    for (const deployment of serviceDeployments(defaults)) {
      const env = literalEnv(container(deployment));
      // No key: the services turn the mechanisms off themselves (and say so in their log).
      expect(env['TEGAMI_SECRETS_KEY_FILE']).toBeUndefined();
      expect(env['TEGAMI_SASL_LEGACY_MECHANISMS']).toBeUndefined();
    }
    const key = Buffer.alloc(32, 7).toString('base64');
    const ownKey = render(['--set', `legacySasl.key=${key}`]);
    const ownSecret = named(ownKey, 'Secret', 'post-tegami-sasl-key');
    expect(ownSecret?.stringData).toEqual({ 'secrets.key': key });
    for (const [objects, secretName, secretKey] of [
      [allOn, 'tegami-sasl-key', 'key-file'],
      [ownKey, 'post-tegami-sasl-key', 'secrets.key'],
    ] as const) {
      for (const deployment of serviceDeployments(objects)) {
        const component = componentOf(deployment);
        const c = container(deployment);
        const env = literalEnv(c);
        const pod = deployment.spec!.template.spec!;
        if (!keyReaders.includes(component)) {
          expect(env['TEGAMI_SECRETS_KEY_FILE'], component).toBeUndefined();
          expect(
            pod.volumes?.some((v) => v.secret?.secretName === secretName),
            component,
          ).toBe(false);
          continue;
        }
        const file = env['TEGAMI_SECRETS_KEY_FILE'];
        const mount = c.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`));
        expect(mount?.readOnly, `${component} mounts the key read-only`).toBe(true);
        const volume = pod.volumes?.find((v) => v.name === mount?.name);
        expect(volume?.secret?.secretName, component).toBe(secretName);
        expect(volume?.secret?.items, component).toEqual([{ key: secretKey, path: secretKey }]);
        expect(file).toBe(`${mount!.mountPath}/${secretKey}`);
        expect(deployment.spec!.template.metadata!.annotations?.['checksum/sasl-key']).toMatch(
          /^[0-9a-f]{64}$/,
        );
      }
    }
    const imap = serviceDeployments(allOn).find((d) => componentOf(d) === 'imap-gateway')!;
    expect(literalEnv(container(imap))['TEGAMI_SASL_LEGACY_MECHANISMS']).toBe('true');
    // The migration Job needs no key: the services seal or delete the secrets when they start.
    const job = ofKind<IJob>(allOn, 'Job')[0]!;
    expect(job.spec!.template.spec!.containers[0]!.env?.map((e) => e.name)).not.toContain(
      'TEGAMI_SECRETS_KEY_FILE',
    );
  });

  it('mounts the SRS secret file into smtp-ingress and the delivery-worker only, from a Secret, and sets nothing without one', () => {
    const secretReaders = ['smtp-ingress', 'delivery-worker'];
    for (const deployment of serviceDeployments(defaults)) {
      // No secret: forwarding keeps the original sender and the services say so in their log.
      expect(literalEnv(container(deployment))['TEGAMI_SRS_SECRET_FILE']).toBeUndefined();
    }
    const secret = 'a-secret-of-the-operators-own';
    const own = render(['--set', `srs.secret=${secret}`]);
    expect(named(own, 'Secret', 'post-tegami-srs')?.stringData).toEqual({ 'srs.secret': secret });
    expect(named(allOn, 'Secret', 'post-tegami-srs')).toBeUndefined();
    for (const [objects, secretName, secretKey] of [
      [allOn, 'tegami-srs', 'srs-file'],
      [own, 'post-tegami-srs', 'srs.secret'],
    ] as const) {
      for (const deployment of serviceDeployments(objects)) {
        const component = componentOf(deployment);
        const c = container(deployment);
        const file = literalEnv(c)['TEGAMI_SRS_SECRET_FILE'];
        const pod = deployment.spec!.template.spec!;
        if (!secretReaders.includes(component)) {
          expect(file, component).toBeUndefined();
          expect(
            pod.volumes?.some((v) => v.secret?.secretName === secretName),
            component,
          ).toBe(false);
          continue;
        }
        const mount = c.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`));
        expect(mount?.readOnly, `${component} mounts the secret read-only`).toBe(true);
        const volume = pod.volumes?.find((v) => v.name === mount?.name);
        expect(volume?.secret?.secretName, component).toBe(secretName);
        expect(volume?.secret?.items, component).toEqual([{ key: secretKey, path: secretKey }]);
        expect(file).toBe(`${mount!.mountPath}/${secretKey}`);
        expect(deployment.spec!.template.metadata!.annotations?.['checksum/srs-secret']).toMatch(
          /^[0-9a-f]{64}$/,
        );
      }
    }
  });

  it('points every Service port at a container port of the pods it selects', () => {
    for (const objects of [defaults, allOn]) {
      const deployments = ofKind<IDeployment>(objects, 'Deployment');
      for (const service of ofKind<IService>(objects, 'Service')) {
        const name = service.metadata!.name!;
        const selected = deployments.filter((d) =>
          matches(service.spec!.selector ?? {}, d.spec!.template.metadata!.labels),
        );
        expect(selected.length, `${name} selects no pods`).toBeGreaterThan(0);
        for (const port of service.spec!.ports!) {
          for (const deployment of selected) {
            const target = portOf(container(deployment), port.targetPort ?? port.port);
            expect(target, `${name} port ${port.name} -> ${deployment.metadata!.name}`).toBeDefined();
            if (service.spec!.clusterIP === 'None')
              expect(port.port, `${name}: headless`).toBe(target!.containerPort);
          }
        }
      }
      const mail = (suffix: string) =>
        objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith(suffix))!;
      expect(ofKind<IService>(objects, 'Service').filter((s) => s.spec!.type === 'LoadBalancer').length).toBe(
        objects === defaults ? 3 : 2,
      );
      expect(
        mail('-smtp')
          .spec.ports.slice(0, 2)
          .map((p: { port: number }) => p.port),
      ).toEqual([25, 587]);
      expect(mail('-pop').spec.ports[0].port).toBe(110);
      expect(mail('-imap').spec.ports[0].port).toBe(143);
      // ManageSieve (RFC 5804) beside IMAP, with and without TLS: the imap-gateway serves it.
      expect(mail('-imap').spec.ports.find((p: { name: string }) => p.name === 'managesieve')).toEqual({
        name: 'managesieve',
        port: 4190,
        targetPort: 'managesieve',
        protocol: 'TCP',
      });
      const imapGateway = ofKind<IDeployment>(objects, 'Deployment').find(
        (d) => componentOf(d) === 'imap-gateway',
      )!;
      expect(portOf(container(imapGateway), 'managesieve')?.containerPort).toBe(4190);
      expect(literalEnv(container(imapGateway))['TEGAMI_MANAGESIEVE_PORT']).toBe('4190');
    }
    for (const suffix of ['-smtp', '-pop', '-imap']) {
      const service = defaults.find((o) => o.kind === 'Service' && o.metadata.name.endsWith(suffix))!;
      expect(service.spec.externalTrafficPolicy, suffix).toBe('Local');
    }
  });

  it('gives the delivery-worker and smtp-ingress the dns-resolver through its headless Service', () => {
    for (const [objects, fullname] of [
      [defaults, 'post-tegami'],
      [allOn, 'mail'],
    ] as const) {
      const headless = named(objects, 'Service', `${fullname}-dns-resolver-headless`);
      expect(headless?.spec.clusterIP).toBe('None');
      const grpc = portOf(container(deploymentOf(objects, 'dns-resolver')), 'grpc')!;
      for (const client of ['delivery-worker', 'smtp-ingress']) {
        expect(literalEnv(container(deploymentOf(objects, client)))['TEGAMI_RESOLVER_TARGET'], client).toBe(
          `dns:///${fullname}-dns-resolver-headless.mail.svc.cluster.local:${grpc.containerPort}`,
        );
      }
      expect(headless?.spec.ports[0].port).toBe(grpc.containerPort);
    }
  });

  it('exposes the admin API of the delivery-worker as a ClusterIP Service, with its TLS and limits when given, and opens no admin port when off', () => {
    const plain = named(defaults, 'Service', 'post-tegami-admin');
    expect(plain?.spec.type).toBe('ClusterIP');
    expect(plain?.spec.ports).toEqual([{ name: 'http', port: 8081, targetPort: 'admin', protocol: 'TCP' }]);
    const worker = container(deploymentOf(defaults, 'delivery-worker'));
    expect(portOf(worker, 'admin')?.containerPort).toBe(8081);
    expect(literalEnv(worker)['TEGAMI_ADMIN_PORT']).toBe('8081');
    expect(literalEnv(worker)['TEGAMI_ADMIN_TLS_CERT_FILE']).toBeUndefined();
    for (const component of ['smtp-ingress', 'pop-gateway', 'imap-gateway', 'dns-resolver'])
      expect(portOf(container(deploymentOf(defaults, component)), 'admin'), component).toBeUndefined();

    const secure = named(allOn, 'Service', 'mail-admin');
    expect(secure?.spec.ports).toEqual([{ name: 'https', port: 8443, targetPort: 'admin', protocol: 'TCP' }]);
    const tlsWorker = deploymentOf(allOn, 'delivery-worker');
    const env = literalEnv(container(tlsWorker));
    expect(env).toMatchObject({
      TEGAMI_ADMIN_PORT: '8081',
      TEGAMI_ADMIN_HOST: '::',
      TEGAMI_ADMIN_TLS_CERT_FILE: '/etc/tegami/admin-tls/tls.crt',
      TEGAMI_ADMIN_TLS_KEY_FILE: '/etc/tegami/admin-tls/tls.key',
      TEGAMI_ADMIN_RATE_LIMIT_READ: '50',
      TEGAMI_ADMIN_RATE_LIMIT_WRITE_BURST: '40',
      TEGAMI_ADMIN_BODY_LIMIT: '4194304',
    });
    expect(tlsWorker.spec!.template.spec!.volumes).toContainEqual(
      expect.objectContaining({
        name: 'admin-tls',
        secret: expect.objectContaining({ secretName: 'tegami-admin-tls' }),
      }),
    );

    const off = render(['--set', 'admin.enabled=false']);
    expect(named(off, 'Service', 'post-tegami-admin')).toBeUndefined();
    const offWorker = container(deploymentOf(off, 'delivery-worker'));
    expect(portOf(offWorker, 'admin')).toBeUndefined();
    // Empty overrides the image's TEGAMI_ADMIN_PORT=8081: no listener.
    expect(literalEnv(offWorker)['TEGAMI_ADMIN_PORT']).toBe('');
    expect(renderFails(['--set', 'admin.service.type=Ingress'])).toMatch(/type/);
  });

  it('maps the mail authentication and connection check settings onto smtp-ingress, and refuses what they cannot be', () => {
    const variables = {
      TEGAMI_MAIL_AUTH: 'true',
      TEGAMI_MAIL_AUTH_TIMEOUT: '20s',
      TEGAMI_DMARC_ENFORCEMENT: 'quarantine',
      TEGAMI_ARC_TRUSTED_SEALERS: 'lists.example.org,forwarder.example.net',
      TEGAMI_SMTP_DNSBL: 'zen.spamhaus.org,bl.example.net',
      TEGAMI_SMTP_REQUIRE_REVERSE_DNS: 'true',
      TEGAMI_SMTP_HELO_CHECKS: 'true',
    };
    const env = literalEnv(container(deploymentOf(allOn, 'smtp-ingress')));
    for (const [name, value] of Object.entries(variables)) expect(env[name], name).toBe(value);
    // Unset: the service's own defaults (checks on, DMARC reject, no DNSBL, no rDNS/HELO checks).
    for (const deployment of serviceDeployments(defaults)) {
      const names = (container(deployment).env ?? []).map((e) => e.name);
      for (const name of Object.keys(variables)) expect(names, deployment.metadata!.name).not.toContain(name);
    }
    // false is a setting, not an absent one.
    const off = render(['--set', 'smtpIngress.settings.mailAuth=false']);
    expect(literalEnv(container(deploymentOf(off, 'smtp-ingress')))['TEGAMI_MAIL_AUTH']).toBe('false');
    expect(renderFails(['--set', 'smtpIngress.settings.dmarcEnforcement=drop'])).toMatch(/dmarcEnforcement/);
    expect(renderFails(['--set', 'smtpIngress.settings.dnsbl[0]=zen.spamhaus.org bl.example'])).toMatch(
      /dnsbl/,
    );
  });

  it('maps the report settings onto the delivery-worker (and TEGAMI_REPORTS onto smtp-ingress), leaving the defaults alone when unset', () => {
    const worker = literalEnv(container(deploymentOf(allOn, 'delivery-worker')));
    expect(worker).toMatchObject({
      TEGAMI_REPORTS: 'true',
      TEGAMI_REPORT_FROM: 'dmarc-reports@example.com',
      TEGAMI_REPORT_ORG_NAME: 'Example Mail',
      TEGAMI_REPORT_CONTACT: 'https://example.com/postmaster',
    });
    const ingress = literalEnv(container(deploymentOf(allOn, 'smtp-ingress')));
    expect(ingress['TEGAMI_REPORTS']).toBe('true');
    expect(ingress['TEGAMI_REPORT_FROM']).toBeUndefined();
    for (const deployment of serviceDeployments(defaults)) {
      const names = (container(deployment).env ?? []).map((e) => e.name);
      expect(
        names.filter((n) => n.startsWith('TEGAMI_REPORT')),
        deployment.metadata!.name,
      ).toEqual([]);
    }
    // false is a setting, not an absent one.
    const off = render(['--set', 'reports.enabled=false']);
    expect(literalEnv(container(deploymentOf(off, 'delivery-worker')))['TEGAMI_REPORTS']).toBe('false');
    expect(literalEnv(container(deploymentOf(off, 'smtp-ingress')))['TEGAMI_REPORTS']).toBe('false');
    expect(renderFails(['--set', 'reports.from=not an address'])).toMatch(/reports/);
  });

  it('publishes the MTA-STS policy host of the listed domains through an Ingress that terminates TLS, only when enabled', () => {
    // Off by default: no port, no Service, no Ingress, no policy settings.
    const smtpDefault = container(deploymentOf(defaults, 'smtp-ingress'));
    expect(portOf(smtpDefault, 'mta-sts')).toBeUndefined();
    expect(ofKind(defaults, 'Ingress')).toEqual([]);
    expect(named(defaults, 'Service', 'post-tegami-mta-sts')).toBeUndefined();
    expect(Object.keys(literalEnv(smtpDefault)).filter((n) => n.startsWith('TEGAMI_MTA_STS'))).toEqual([]);

    const smtp = container(deploymentOf(allOn, 'smtp-ingress'));
    const port = portOf(smtp, 'mta-sts')!;
    const env = literalEnv(smtp);
    expect(env).toMatchObject({
      TEGAMI_MTA_STS_PORT: String(port.containerPort),
      TEGAMI_MTA_STS_TLS: 'false',
      TEGAMI_MTA_STS_MODE: 'enforce',
      TEGAMI_MTA_STS_MX: 'mx.example.org,*.mx.example.net',
      TEGAMI_MTA_STS_MAX_AGE: '86400',
    });
    // Not on the mail LoadBalancer: only through the Service the Ingress uses.
    const mailPorts = named(allOn, 'Service', 'mail-smtp')!.spec.ports.map((p: { name: string }) => p.name);
    expect(mailPorts).not.toContain('mta-sts');
    const service = named(allOn, 'Service', 'mail-mta-sts')!;
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'mta-sts', protocol: 'TCP' }]);
    expect(
      matches(service.spec.selector, deploymentOf(allOn, 'smtp-ingress').spec!.template.metadata!.labels),
    ).toBe(true);

    const [ingress, ...more] = ofKind(allOn, 'Ingress');
    expect(more).toEqual([]);
    expect(ingress!.metadata.name).toBe('mail-mta-sts');
    expect(ingress!.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    const hosts = ['mta-sts.example.org', 'mta-sts.example.net'];
    expect(ingress!.spec.ingressClassName).toBe('nginx');
    expect(ingress!.spec.tls).toEqual([{ secretName: 'mta-sts-tls', hosts }]);
    expect(ingress!.spec.rules).toEqual(
      hosts.map((host) => ({
        host,
        http: {
          paths: [
            {
              path: '/.well-known/mta-sts.txt',
              pathType: 'Exact',
              backend: { service: { name: 'mail-mta-sts', port: { name: 'http' } } },
            },
          ],
        },
      })),
    );

    // With NetworkPolicies: the policy host is reachable from anywhere (the Ingress controller),
    // and the delivery-worker may fetch other domains' policies over HTTPS.
    const policies = render([
      '-f',
      ALL_ON,
      '--set',
      'networkPolicy.enabled=true',
      '--set',
      'networkPolicy.egress.enabled=true',
    ]);
    const smtpPolicy = named(policies, 'NetworkPolicy', 'mail-smtp-ingress')!;
    const rule = smtpPolicy.spec.ingress.find((r: { ports: { port: unknown }[] }) =>
      r.ports.some((p) => p.port === 'mta-sts'),
    );
    expect(rule).toEqual({ ports: [{ protocol: 'TCP', port: 'mta-sts' }] });
    const egressPorts = (objects: K8sObject[]) =>
      named(objects, 'NetworkPolicy', 'mail-delivery-worker')!.spec.egress.flatMap(
        (r: { ports?: { port: unknown }[] }) => (r.ports ?? []).map((p) => p.port),
      );
    expect(egressPorts(policies)).toContain(443);
    const withoutMtaSts = render([
      ...['-f', ALL_ON, '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.egress.enabled=true'],
      ...['--set', 'deliveryWorker.settings.mtaSts=false'],
    ]);
    expect(egressPorts(withoutMtaSts)).not.toContain(443);
    expect(
      literalEnv(container(deploymentOf(withoutMtaSts, 'delivery-worker')))['TEGAMI_DELIVERY_MTA_STS'],
    ).toBe('false');

    expect(renderFails(['--set', 'mtaSts.enabled=true'])).toMatch(/mtaSts.domains is required/);
    expect(renderFails(['--set', 'mtaSts.mode=strict'])).toMatch(/mode/);
    expect(renderFails(['--set', 'mtaSts.maxAge=31557601'])).toMatch(/maxAge/);
    expect(renderFails(['--set', 'mtaSts.mx[0]=mx.*.example.org'])).toMatch(/mx/);
  });

  it('with rspamd off, runs no rspamd and names none to any service', () => {
    // rspamd.external.url alone does not turn it on: rspamd.enabled does.
    const strayUrl = render(['--set', 'rspamd.external.url=http://spam.example.net:11333']);
    for (const objects of [defaults, strayUrl]) {
      expect(objects.filter((o) => isRspamdObject(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
      for (const deployment of serviceDeployments(objects)) {
        const c = container(deployment);
        expect((c.env ?? []).map((e) => e.name).filter((n) => n.includes('RSPAMD'))).toEqual([]);
        expect(c.volumeMounts?.map((m) => m.name)).not.toContain('rspamd-password');
        expect(Object.keys(deployment.spec!.template.metadata!.annotations ?? {})).not.toContain(
          'checksum/rspamd-password',
        );
      }
    }
    expect(renderFails(['--set', 'rspamd.failure=drop'])).toMatch(/failure/);
    expect(renderFails(['--set', 'rspamd.external.url=spam.example.net:11333'])).toMatch(/url/);
  });

  it('runs rspamd and its Redis locked down like the services: non-root, read-only root, writable only on volumes, probed, with resources', () => {
    for (const objects of [allOn, render(['--set', 'rspamd.enabled=true'])]) {
      const deployments = ofKind<IDeployment>(objects, 'Deployment').filter((d) =>
        isRspamdObject(d as K8sObject),
      );
      expect(deployments.map((d) => d.metadata!.labels!['app.kubernetes.io/component']).sort()).toEqual([
        'rspamd',
        'rspamd-redis',
      ]);
      for (const deployment of deployments) {
        const name = deployment.metadata!.name!;
        const pod = deployment.spec!.template.spec!;
        const c = container(deployment);
        const security = { ...pod.securityContext, ...c.securityContext };
        expect(security.runAsNonRoot, name).toBe(true);
        expect(security.runAsUser, name).toBeGreaterThan(0);
        expect(c.securityContext?.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, name).toContain('ALL');
        expect(pod.automountServiceAccountToken, name).toBe(false);
        for (const mount of c.volumeMounts ?? []) {
          const volume = pod.volumes?.find((v) => v.name === mount.name);
          if (!mount.readOnly)
            expect(
              volume?.emptyDir ?? volume?.persistentVolumeClaim,
              `${name} ${mount.mountPath}`,
            ).toBeDefined();
        }
        expect(c.readinessProbe, name).toBeDefined();
        expect(c.livenessProbe, name).toBeDefined();
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (probe) expect(portOf(c, port), `${name} probe port ${port}`).toBeDefined();
        }
        expect(c.resources?.requests?.['cpu'], name).toBeDefined();
        expect(c.resources?.requests?.['memory'], name).toBeDefined();
        expect(c.resources?.limits?.['memory'], name).toBeDefined();
      }
      const rspamd = container(deployments.find((d) => d.metadata!.name!.endsWith('-rspamd'))!);
      // Ready when the controller answers; alive while the scanner does.
      expect(rspamd.readinessProbe?.httpGet).toMatchObject({ path: '/ping', port: 'controller' });
      expect(rspamd.livenessProbe?.httpGet).toMatchObject({ path: '/ping', port: 'normal' });
      expect(rspamd.volumeMounts?.map((m) => m.mountPath).sort()).toEqual(
        ['/etc/rspamd/local.d', '/run/rspamd', '/tmp', '/var/lib/rspamd'].sort(),
      );
    }
  });

  it('runs rspamd with its Redis, wired to smtp-ingress and the imap-gateway, each reachable only by its client', () => {
    const rspamdDeployment = named(allOn, 'Deployment', 'mail-rspamd') as IDeployment | undefined;
    expect(rspamdDeployment?.spec?.replicas).toBe(2);
    const rspamd = container(rspamdDeployment!);
    expect(rspamd.image).toBe('registry.example.com/rspamd/rspamd:3.12.1');
    expect(rspamd.env?.find((e) => e.name === 'RSPAMD_CONTROLLER_PASSWORD')?.valueFrom?.secretKeyRef).toEqual(
      {
        name: 'tegami-rspamd',
        key: 'controller-password',
      },
    );

    // A URL of the chart's own names a Service of the release and a port that reaches the
    // named container port of the pods it selects.
    const reaches = (url: string, deployment: IDeployment, portName: string) => {
      const { protocol, hostname, port } = new URL(url);
      expect(protocol, url).toBe('http:');
      const [serviceName, namespace, svc, ...domain] = hostname.split('.');
      expect([namespace, svc, domain.join('.')], url).toEqual(['mail', 'svc', 'cluster.local']);
      const service = named(allOn, 'Service', serviceName!) as IService | undefined;
      expect(service, `${url}: no Service ${serviceName}`).toBeDefined();
      expect(matches(service!.spec!.selector!, deployment.spec!.template.metadata!.labels), url).toBe(true);
      const servicePort = service!.spec!.ports!.find((p) => p.port === Number(port));
      expect(servicePort?.targetPort, url).toBe(portName);
      expect(portOf(container(deployment), portName), url).toBeDefined();
    };

    const smtp = literalEnv(container(deploymentOf(allOn, 'smtp-ingress')));
    reaches(smtp['TEGAMI_RSPAMD_URL']!, rspamdDeployment!, 'normal');
    expect(smtp['TEGAMI_RSPAMD_TIMEOUT']).toBe('5s');
    expect(smtp['TEGAMI_RSPAMD_FAILURE']).toBe('tempfail');
    const imapDeployment = deploymentOf(allOn, 'imap-gateway');
    const imap = container(imapDeployment);
    reaches(literalEnv(imap)['TEGAMI_RSPAMD_CONTROLLER_URL']!, rspamdDeployment!, 'controller');
    const file = literalEnv(imap)['TEGAMI_RSPAMD_PASSWORD_FILE']!;
    const mount = imap.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    expect(file).toBe(`${mount!.mountPath}/controller-password`);
    const volume = imapDeployment.spec!.template.spec!.volumes?.find((v) => v.name === mount!.name);
    expect(volume?.secret).toMatchObject({
      secretName: 'tegami-rspamd',
      items: [{ key: 'controller-password', path: 'controller-password' }],
    });
    // Only smtp-ingress scans and only the imap-gateway learns.
    for (const deployment of serviceDeployments(allOn)) {
      const names = (container(deployment).env ?? []).map((e) => e.name).filter((n) => n.includes('RSPAMD'));
      const expected: Record<string, string[]> = {
        'smtp-ingress': ['TEGAMI_RSPAMD_FAILURE', 'TEGAMI_RSPAMD_TIMEOUT', 'TEGAMI_RSPAMD_URL'],
        'imap-gateway': ['TEGAMI_RSPAMD_CONTROLLER_URL', 'TEGAMI_RSPAMD_PASSWORD_FILE'],
      };
      expect(names.sort(), deployment.metadata!.name).toEqual(expected[componentOf(deployment)] ?? []);
    }
    // A new password rolls both readers of it.
    const checksum = (d: IDeployment) => d.spec!.template.metadata!.annotations?.['checksum/rspamd-password'];
    expect(checksum(imapDeployment)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(imapDeployment)).toBe(checksum(rspamdDeployment!));

    // rspamd's local.d: the chart's files, its Redis, and rspamd.extraConfig.
    const configVolume = rspamdDeployment!.spec!.template.spec!.volumes?.find(
      (v) => v.name === rspamd.volumeMounts?.find((m) => m.mountPath === '/etc/rspamd/local.d')?.name,
    );
    const configMap = named(allOn, 'ConfigMap', configVolume!.configMap!.name!)!;
    expect(Object.keys(configMap.data).sort()).toEqual(
      [
        ...readdirSync(join(REPO_ROOT, CHART, 'files/rspamd/local.d')),
        'redis.conf',
        'actions.conf',
        'options.inc',
      ].sort(),
    );
    expect(configMap.data['actions.conf']).toBe('reject = 12;\n');
    const redisDeployment = named(allOn, 'Deployment', 'mail-rspamd-redis') as IDeployment;
    const redisUrl = /^servers = "([^"]+)";$/m.exec(configMap.data['redis.conf'])![1]!;
    reaches(`http://${redisUrl}`, redisDeployment, 'redis');
    expect(rspamdDeployment!.spec!.template.metadata!.annotations?.['checksum/config']).toMatch(
      /^[0-9a-f]{64}$/,
    );

    // Redis: one writer of its claim, which outlives the release.
    expect(redisDeployment.spec!.replicas).toBe(1);
    expect(redisDeployment.spec!.strategy?.type).toBe('Recreate');
    const redis = container(redisDeployment);
    expect([
      redis.command,
      redis.args?.slice(redis.args.indexOf('--maxmemory'), redis.args.indexOf('--maxmemory') + 2),
    ]).toEqual([['redis-server'], ['--maxmemory', '512mb']]);
    const claimName = redisDeployment.spec!.template.spec!.volumes?.find((v) => v.persistentVolumeClaim)
      ?.persistentVolumeClaim?.claimName;
    const claim = named(allOn, 'PersistentVolumeClaim', claimName!);
    expect(claim?.spec).toMatchObject({
      storageClassName: 'fast',
      accessModes: ['ReadWriteOncePod'],
      resources: { requests: { storage: '2Gi' } },
    });
    expect(claim?.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');

    // NetworkPolicies: the scanner only from smtp-ingress, the controller only from the
    // imap-gateway, Redis only from rspamd; and each client's egress reaches its port.
    const policyOf = (deployment: IDeployment) =>
      ofKind(allOn, 'NetworkPolicy').find((p) =>
        matches(p.spec.podSelector.matchLabels, deployment.spec!.template.metadata!.labels),
      )!;
    const from = (deployment: IDeployment) =>
      Object.fromEntries(
        policyOf(deployment).spec.ingress.map((rule: { ports: { port: string }[]; from: unknown[] }) => [
          rule.ports.map((p) => p.port).join(','),
          rule.from.map(
            (peer) =>
              (peer as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels[
                'app.kubernetes.io/component'
              ],
          ),
        ]),
      );
    expect(from(rspamdDeployment!)).toEqual({ normal: ['smtp-ingress'], controller: ['imap-gateway'] });
    expect(from(redisDeployment)).toEqual({ redis: ['rspamd'] });
    const egressTo = (component: string, port: string) =>
      policyOf(deploymentOf(allOn, component)).spec.egress.find(
        (rule: {
          ports: { port: string }[];
          to?: { podSelector: { matchLabels: Record<string, string> } }[];
        }) => rule.ports.some((p) => p.port === port),
      )?.to?.[0]?.podSelector.matchLabels['app.kubernetes.io/component'];
    expect(egressTo('smtp-ingress', 'normal')).toBe('rspamd');
    expect(egressTo('smtp-ingress', 'grpc')).toBe('dns-resolver');
    expect(egressTo('imap-gateway', 'controller')).toBe('rspamd');
    expect(policyOf(redisDeployment).spec.egress).toEqual([]);

    // Or a Redis of yours: no Redis of the chart, rspamd names yours and may reach its port.
    const ownRedis = render([
      ...['--set', 'rspamd.enabled=true', '--set', 'rspamd.redis.enabled=false'],
      ...['--set', 'rspamd.redis.servers=redis1.example.net:6380'],
      ...['--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.egress.enabled=true'],
    ]);
    expect(
      ownRedis.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'rspamd-redis'),
    ).toEqual([]);
    expect(named(ownRedis, 'ConfigMap', 'post-tegami-rspamd')?.data['redis.conf']).toMatch(
      /^servers = "redis1\.example\.net:6380";$/m,
    );
    const rspamdEgress = named(ownRedis, 'NetworkPolicy', 'post-tegami-rspamd')!.spec.egress;
    expect(
      rspamdEgress.flatMap((rule: { ports: { port: unknown }[] }) => rule.ports.map((p) => p.port)),
    ).toContain(6380);
  });

  it('generates rspamd’s controller password into a Secret of its own when given none, for rspamd and the imap-gateway alike', () => {
    const passwordOf = (objects: readonly K8sObject[]) => {
      const secret = named(objects, 'Secret', 'post-tegami-rspamd');
      return Buffer.from(secret?.data?.['password'] ?? '', 'base64').toString();
    };
    const first = render(['--set', 'rspamd.enabled=true']);
    const password = passwordOf(first);
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    const rspamd = named(first, 'Deployment', 'post-tegami-rspamd') as IDeployment;
    const imap = deploymentOf(first, 'imap-gateway');
    expect(
      container(rspamd).env?.find((e) => e.name === 'RSPAMD_CONTROLLER_PASSWORD')?.valueFrom?.secretKeyRef,
    ).toEqual({
      name: 'post-tegami-rspamd',
      key: 'password',
    });
    expect(
      imap.spec!.template.spec!.volumes?.find((v) => v.name === 'rspamd-password')?.secret?.secretName,
    ).toBe('post-tegami-rspamd');
    // The checksums follow the password itself: both pods roll when it changes.
    const expected = createHash('sha256').update(`post-tegami-rspamd/password/${password}`).digest('hex');
    for (const deployment of [rspamd, imap]) {
      expect(deployment.spec!.template.metadata!.annotations?.['checksum/rspamd-password']).toBe(expected);
    }
    // `helm template` cannot read the live Secret back (an install or upgrade does, and keeps
    // it): each render makes a new one, which is why GitOps users give existingSecret.
    expect(passwordOf(render(['--set', 'rspamd.enabled=true']))).not.toBe(password);
  });

  it('points the services at an rspamd of yours, and runs none', () => {
    const objects = render([
      '--set',
      'rspamd.enabled=true',
      '--set',
      'rspamd.external.url=https://spam.example.net:8443',
      '--set',
      'rspamd.external.controllerUrl=https://spam.example.net:8444',
      '--set',
      'rspamd.password.existingSecret=their-rspamd',
      '--set',
      'networkPolicy.enabled=true',
      '--set',
      'networkPolicy.egress.enabled=true',
    ]);
    expect(objects.filter((o) => isRspamdObject(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(named(objects, 'Secret', 'post-tegami-rspamd')).toBeUndefined();
    const smtp = deploymentOf(objects, 'smtp-ingress');
    const imap = deploymentOf(objects, 'imap-gateway');
    expect(literalEnv(container(smtp))['TEGAMI_RSPAMD_URL']).toBe('https://spam.example.net:8443');
    expect(literalEnv(container(imap))['TEGAMI_RSPAMD_CONTROLLER_URL']).toBe('https://spam.example.net:8444');
    expect(literalEnv(container(imap))['TEGAMI_RSPAMD_PASSWORD_FILE']).toBe('/etc/tegami/rspamd/password');
    expect(
      imap.spec!.template.spec!.volumes?.find((v) => v.name === 'rspamd-password')?.secret?.secretName,
    ).toBe('their-rspamd');
    // Egress to wherever it is, on its URL's port.
    const egressPorts = (deployment: IDeployment) =>
      ofKind(objects, 'NetworkPolicy')
        .find((p) => matches(p.spec.podSelector.matchLabels, deployment.spec!.template.metadata!.labels))!
        .spec.egress.flatMap((rule: { ports: { port: number | string }[] }) => rule.ports.map((p) => p.port));
    expect(egressPorts(smtp)).toContain(8443);
    expect(egressPorts(imap)).toContain(8444);

    // No controller URL: no learning, so the imap-gateway gets neither URL nor password.
    const scanOnly = render([
      '--set',
      'rspamd.enabled=true',
      '--set',
      'rspamd.external.url=http://spam.example.net',
    ]);
    expect(literalEnv(container(deploymentOf(scanOnly, 'smtp-ingress')))['TEGAMI_RSPAMD_URL']).toBe(
      'http://spam.example.net',
    );
    expect(
      (container(deploymentOf(scanOnly, 'imap-gateway')).env ?? []).filter((e) => e.name.includes('RSPAMD')),
    ).toEqual([]);
  });

  it('autoscales the four scalable services and guards every one with a PodDisruptionBudget', () => {
    for (const objects of [defaults, allOn]) {
      const deployments = serviceDeployments(objects);
      const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
      for (const hpa of hpas) {
        const target = hpa.spec.scaleTargetRef;
        expect(target.kind).toBe('Deployment');
        const deployment = deployments.find((d) => d.metadata!.name === target.name);
        expect(deployment, `${hpa.metadata.name} scales a Deployment that exists`).toBeDefined();
        expect(deployment!.spec!.replicas, `${target.name} leaves replicas to its HPA`).toBeUndefined();
        expect(hpa.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toContain('cpu');
      }
      {
        const scalable = ['smtp-ingress', 'delivery-worker', 'pop-gateway', 'imap-gateway'];
        expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(
          deployments
            .filter((d) => scalable.includes(d.metadata!.labels!['app.kubernetes.io/component']!))
            .map((d) => d.metadata!.name!)
            .sort(),
        );
        expect(hpas).toHaveLength(4);
      }
      const pdbs = ofKind(objects, 'PodDisruptionBudget');
      expect(pdbs).toHaveLength(deployments.length);
      for (const pdb of pdbs) {
        const guarded = deployments.filter((d) =>
          matches(pdb.spec.selector.matchLabels, d.spec!.template.metadata!.labels),
        );
        expect(guarded.length, pdb.metadata.name).toBe(1);
      }
    }
  });

  it('migrates in a pre-install/pre-upgrade hook Job that can read the database URL at hook time', () => {
    for (const objects of [defaults, allOn]) {
      const jobs = ofKind(objects, 'Job');
      expect(jobs).toHaveLength(1);
      const job = jobs[0]!;
      const jobSpec = (job as unknown as IJob).spec!;
      expect(hookEvents(job).sort()).toEqual(['pre-install', 'pre-upgrade']);
      expect(job.metadata.annotations?.['helm.sh/hook-delete-policy']).toContain('before-hook-creation');
      const c = jobSpec.template.spec!.containers[0]!;
      expect([...(c.command ?? []), ...(c.args ?? [])]).toEqual([
        'node',
        'packages/cli/dist/main.js',
        'migrate',
      ]);
      expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
      const ref = c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
      expect(ref).toBeDefined();
      // Hooks run before the release's ordinary objects exist: what the Job needs must be a
      // hook of the same events with a lower weight, or exist beforehand (existingSecret).
      const secret = named(objects, 'Secret', ref!.name!);
      if (objects === allOn) {
        expect(secret).toBeUndefined();
        expect(ref).toEqual({ name: 'tegami-backends', key: 'postgres-url' });
      } else {
        expect(secret, 'the Job’s Secret is rendered').toBeDefined();
        expect(hookEvents(secret!).sort()).toEqual(['pre-install', 'pre-upgrade']);
        const weight = (o: K8sObject) => Number(o.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
        expect(weight(secret!)).toBeLessThan(weight(job));
        expect(Object.keys(secret!.stringData)).toContain(ref!.key);
      }
      const account = jobSpec.template.spec!.serviceAccountName;
      if (account)
        expect(named(objects, 'ServiceAccount', account), 'no ServiceAccount of the release').toBeUndefined();
    }
  });

  it('renders NetworkPolicies and the ServiceMonitor only when enabled, each selecting what it should', () => {
    for (const kind of ['NetworkPolicy', 'ServiceMonitor', 'ConfigMap'])
      expect(ofKind(defaults, kind), kind).toEqual([]);

    const deployments = ofKind<IDeployment>(allOn, 'Deployment');
    const policies = ofKind(allOn, 'NetworkPolicy');
    expect(policies).toHaveLength(deployments.length);
    for (const deployment of deployments) {
      const labels = deployment.spec!.template.metadata!.labels;
      const own = policies.filter((p) => matches(p.spec.podSelector.matchLabels, labels));
      expect(own.length, deployment.metadata!.name).toBe(1);
      const c = container(deployment);
      for (const rule of own[0]!.spec.ingress) {
        for (const port of rule.ports ?? []) {
          expect(portOf(c, port.port), `${deployment.metadata!.name} allows ${port.port}`).toBeDefined();
        }
      }
    }
    const resolverPolicy = policies.find((p) => p.metadata.name === 'mail-dns-resolver')!;
    const grpcRule = resolverPolicy.spec.ingress.find(
      (r: { ports: { port: string }[] }) => r.ports[0]!.port === 'grpc',
    );
    // The delivery-worker (MX, addresses) and smtp-ingress (mail authentication, DNSBLs).
    expect(grpcRule.from).toEqual(
      ['delivery-worker', 'smtp-ingress'].map((component) => ({
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'tegami',
            'app.kubernetes.io/instance': 'post',
            'app.kubernetes.io/component': component,
          },
        },
      })),
    );

    const monitors = ofKind(allOn, 'ServiceMonitor');
    expect(monitors).toHaveLength(1);
    const monitor = monitors[0]!;
    const scraped = ofKind<IService>(allOn, 'Service').filter((s) =>
      matches(monitor.spec.selector.matchLabels, s.metadata!.labels),
    );
    expect(scraped).toHaveLength(serviceDeployments(allOn).length);
    for (const endpoint of monitor.spec.endpoints) {
      expect(endpoint.path).toBe('/metrics');
      for (const service of scraped) expect(service.spec!.ports!.map((p) => p.name)).toContain(endpoint.port);
    }
  });

  it('ships a Grafana dashboard whose queries use only metrics the services export', async () => {
    const configMap = ofKind(allOn, 'ConfigMap').find(
      (c) => c.metadata.labels?.['grafana_dashboard'] === '1',
    );
    expect(configMap, 'dashboard ConfigMap with the sidecar label').toBeDefined();
    expect(configMap!.metadata.namespace).toBe('monitoring');
    const text = configMap!.data['tegami.json'] as string;
    expect(text).toBe(readFileSync(join(REPO_ROOT, CHART, 'dashboards/tegami.json'), 'utf8').trimEnd());
    const dashboard = JSON.parse(text);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const rows = dashboard.panels
      .filter((p: { type: string }) => p.type === 'row')
      .map((p: { title: string }) => p.title);
    for (const service of SERVICES) expect(rows).toContain(service);
    expect(rows).toContain('Mail authentication and spam');
    // No panel covers another (Grafana would push one down, out of its row).
    type Grid = { x: number; y: number; w: number; h: number };
    const grids = dashboard.panels.map((p: { title: string; gridPos: Grid }) => ({
      title: p.title,
      ...p.gridPos,
    }));
    for (const [i, a] of grids.entries()) {
      for (const b of grids.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }

    const allowed = await knownMetricNames();
    const used = new Set<string>();
    for (const panel of dashboard.panels.filter((p: { type: string }) => p.type !== 'row')) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets as { expr: string }[]) {
        for (const [name] of expr.matchAll(/\b(?:tegami|process|nodejs)_[a-z0-9_]+\b/g)) {
          const base = name.replace(/_(bucket|sum|count)$/, '');
          const known = allowed.plain.has(name) || (name !== base && allowed.histograms.has(base));
          expect(known, `${panel.title}: unknown metric ${name} in ${expr}`).toBe(true);
          used.add(base);
        }
        // Counters only through rate() over a range; histogram buckets only in histogram_quantile.
        for (const [, name, range] of expr.matchAll(/\b(\w+_total)(?:\{[^}]*\})?(\[[^\]]+\])?/g)) {
          expect(range, `${panel.title}: ${name} without a range in ${expr}`).toBeDefined();
        }
        if (expr.includes('_bucket')) expect(expr, panel.title).toMatch(/histogram_quantile\(/);
      }
    }
    for (const metric of [
      'tegami_smtp_connections_active',
      'tegami_smtp_transactions_total',
      'tegami_delivery_queue_depth',
      'tegami_delivery_queue_oldest_pending_seconds',
      'tegami_delivery_outcomes_total',
      'tegami_imap_commands_total',
      'tegami_imap_command_duration_seconds',
      'tegami_pop_commands_total',
      'tegami_pop_command_duration_seconds',
      'tegami_errors_total',
      'tegami_auth_results_total',
      'tegami_spam_actions_total',
      'tegami_spam_learn_total',
      'tegami_smtp_connection_checks_total',
    ]) {
      expect(used, `the dashboard shows ${metric}`).toContain(metric);
    }
  });
});

/** The listed metrics, the ones the services' source registers, and Node's defaults from prom-client. */
async function knownMetricNames(): Promise<{ plain: Set<string>; histograms: Set<string> }> {
  const plain = new Set<string>();
  const histograms = new Set<string>();
  for (const entry of LISTED_METRICS) {
    const [name, type] = entry.split(':');
    (type === 'histogram' ? histograms : plain).add(name!);
  }
  for (const dir of ['services', 'packages']) {
    for (const file of readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (!/\/src\/.*\.ts$/.test(file) || file.includes('node_modules')) continue;
      const source = readFileSync(join(REPO_ROOT, dir, file), 'utf8');
      for (const [, kind, name] of source.matchAll(/new (\w+)\(\{\s*name: '(tegami_[a-z0-9_]+)'/g)) {
        (kind === 'Histogram' ? histograms : plain).add(name!);
      }
    }
  }
  for (const metric of await createMetricsRegistry('helm-chart-test').getMetricsAsJSON()) {
    (String(metric.type) === 'histogram' ? histograms : plain).add(metric.name);
  }
  return { plain, histograms };
}

// The key check: each Deployment's entry point, environment and ports against the real
// service. Each runs from source (node … services/X/dist/main.js becomes node --import tsx
// services/X/src/main.ts) with the Deployment's literal environment; only the Secret's URLs
// (a test database and NATS prefix), the certificate files and the listen addresses (a
// loopback address per service, since every service's ops port is 8080) are replaced.
describe('the Deployments against the services they run', () => {
  const ADDRESSES: Readonly<Record<string, string>> = {
    'smtp-ingress': '127.0.94.1',
    'delivery-worker': '127.0.94.2',
    'dns-resolver': '127.0.94.3',
    'pop-gateway': '127.0.94.4',
    'imap-gateway': '127.0.94.5',
  };
  let database: TestDatabase;
  let nats: TestNats;
  let certDir: string;
  const programs: Program[] = [];
  // rspamd and its Redis as the chart runs them (with the password it generates), from
  // Debian's packages: the services below talk to this rspamd.
  const bundled = render(['--set', 'rspamd.enabled=true']);
  let redis: RedisDaemon | undefined;
  let rspamd: RspamdDaemon | undefined;
  let rspamdPassword: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    nats = await testNats();
    certDir = mkdtempSync(join(tmpdir(), 'tegami-helm-'));

    const redisContainer = container(named(bundled, 'Deployment', 'post-tegami-rspamd-redis') as IDeployment);
    expect(redisContainer.command).toEqual(['redis-server']);
    redis = await startRedisServer(redisContainer.args ?? []);
    const rspamdDeployment = named(bundled, 'Deployment', 'post-tegami-rspamd') as IDeployment;
    const rspamdContainer = container(rspamdDeployment);
    const env: Record<string, string> = {};
    for (const variable of rspamdContainer.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      const secret = ref && named(bundled, 'Secret', ref.name!);
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (secret) env[variable.name] = Buffer.from(secret.data[ref.key], 'base64').toString();
      else throw new Error(`rspamd: no value for ${variable.name}`);
    }
    rspamdPassword = env['RSPAMD_CONTROLLER_PASSWORD']!;
    const configVolume = rspamdDeployment.spec!.template.spec!.volumes!.find(
      (v) =>
        v.name === rspamdContainer.volumeMounts?.find((m) => m.mountPath === '/etc/rspamd/local.d')?.name,
    );
    const localD = named(bundled, 'ConfigMap', configVolume!.configMap!.name!)!.data as Record<
      string,
      string
    >;
    rspamd = await startRspamd({ localD, env, redisPort: redis.port });
  }, 300_000);

  afterAll(async () => {
    for (const program of programs) program.signal('SIGTERM');
    await Promise.all(programs.map((p) => p.exited(15_000).catch(() => p.signal('SIGKILL'))));
    await rspamd?.stop();
    await redis?.stop();
    await database?.drop().catch(() => undefined);
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('runs the chart’s rspamd settings in rspamd: listening where the Deployment says, without its own SPF/DKIM/DMARC/ARC, with its headers, rejecting GTUBE, learning into Redis only with the password', async () => {
    const deployment = named(bundled, 'Deployment', 'post-tegami-rspamd') as IDeployment;
    const c = container(deployment);
    const localD = named(bundled, 'ConfigMap', 'post-tegami-rspamd')!.data as Record<string, string>;
    // The workers bind (on every address) the ports the Deployment and its Service name.
    for (const [file, port] of [
      ['worker-normal.inc', 'normal'],
      ['worker-controller.inc', 'controller'],
    ] as const) {
      expect(localD[file]).toContain(`bind_socket = "*:${portOf(c, port)!.containerPort}";`);
    }
    // The probes' paths answer on the probes' workers.
    const workerUrl = { normal: rspamd!.normalUrl, controller: rspamd!.controllerUrl };
    for (const probe of [c.readinessProbe!, c.livenessProbe!, c.startupProbe!]) {
      const answer = await fetch(
        `${workerUrl[probe.httpGet!.port as 'normal' | 'controller']}${probe.httpGet!.path}`,
      );
      expect(`${answer.status} ${(await answer.text()).trim()}`).toBe('200 pong');
    }

    const envelope = {
      ip: '203.0.113.7',
      helo: 'mx.example.org',
      from: 'bob@example.org',
      rcpt: 'alice@example.net',
    };
    const message = (body: string) =>
      [
        'From: Bob <bob@example.org>',
        'To: alice@example.net',
        'Subject: Lunch',
        `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
        'Date: Thu, 03 Dec 2026 12:00:00 +0000',
        '',
        body,
        '',
      ].join('\r\n');
    const plain = await checkv2(rspamd!.normalUrl, message('Shall we meet at noon?'), envelope);
    const symbols = Object.keys(plain.symbols);
    expect(symbols, 'the scan ran its rules').toContain('RCPT_COUNT_ONE');
    // Tegami checks these and passes its Authentication-Results: rspamd's own modules are off
    // (with them on, a message without a signature gets R_SPF_NA, R_DKIM_NA, DMARC_NA, ARC_NA).
    expect(symbols.filter((s) => /^(R_)?(SPF|DKIM|DMARC|ARC)_/.test(s))).toEqual([]);
    const headers = Object.keys(plain.milter?.add_headers ?? {});
    expect(headers).toEqual(
      expect.arrayContaining(['X-Spamd-Result', 'X-Rspamd-Server', 'X-Spamd-Bar', 'X-Spam-Status']),
    );
    expect(headers).not.toContain('Authentication-Results');
    const gtube = await checkv2(rspamd!.normalUrl, message(GTUBE), envelope);
    expect(gtube.action).toBe('reject');

    // Learning as the imap-gateway does: the password from its file, which is the Secret's key.
    const imap = deploymentOf(bundled, 'imap-gateway');
    const file = literalEnv(container(imap))['TEGAMI_RSPAMD_PASSWORD_FILE']!;
    const secretVolume = imap.spec!.template.spec!.volumes!.find((v) => v.name === 'rspamd-password')!
      .secret!;
    expect(file.endsWith(`/${secretVolume.items![0]!.path}`)).toBe(true);
    const secret = named(bundled, 'Secret', secretVolume.secretName!)!;
    const fromFile = Buffer.from(secret.data[secretVolume.items![0]!.key], 'base64').toString();
    expect(fromFile).toBe(rspamdPassword);
    const keysBefore = await redis!.dbsize();
    expect(
      (await controllerPost(rspamd!.controllerUrl, '/learnspam', spamMessage(1), undefined)).status,
    ).toBe(401);
    expect(
      (await controllerPost(rspamd!.controllerUrl, '/learnspam', spamMessage(1), `${fromFile}x`)).status,
    ).toBe(401);
    const learned = await controllerPost(rspamd!.controllerUrl, '/learnspam', spamMessage(1), fromFile);
    expect(learned, rspamd!.output().slice(-3000)).toEqual({ status: 200, body: '{"success":true}' });
    expect(await redis!.dbsize()).toBeGreaterThan(keysBefore);
  }, 120_000);

  /** `node <dist entry> …` as the command from source. */
  function fromSource(c: IContainer): string[] {
    const [command, ...args] = [...(c.command ?? []), ...(c.args ?? [])];
    expect(command).toBe('node');
    const entry = /^((?:services|packages)\/[a-z-]+)\/dist\/(.+)\.js$/.exec(args[0] ?? '');
    expect(entry, `entry point ${args[0]}`).not.toBeNull();
    const source = `${entry![1]}/src/${entry![2]}.ts`;
    expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
    return ['--conditions=tegami-source', '--import', 'tsx', source, ...args.slice(1)];
  }

  /** The container's environment with the Secret's URLs pointing at the test's Postgres and NATS. */
  function environment(c: IContainer): Record<string, string> {
    const secrets: Record<string, string> = { DATABASE_URL: database.url, NATS_URL: nats.url };
    const env: Record<string, string> = {};
    for (const variable of c.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom?.secretKeyRef && secrets[variable.name])
        env[variable.name] = secrets[variable.name]!;
      else
        throw new Error(
          `${c.name}: no test value for ${variable.name} from ${JSON.stringify(variable.valueFrom)}`,
        );
    }
    return env;
  }

  it('migrates with the Job’s command, then starts every Deployment’s service listening on exactly its container ports', async () => {
    const objects = render(['-f', ALL_ON]);
    const cert = await ensureSelfSignedCertificate(certDir, 'localhost');
    const secretsKeyFile = join(certDir, 'secrets.key');
    writeFileSync(secretsKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const srsSecretFile = join(certDir, 'srs.secret');
    writeFileSync(srsSecretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    // A Secret key mounted as a file holds exactly the value, no newline.
    const rspamdPasswordFile = join(certDir, 'rspamd-password');
    writeFileSync(rspamdPasswordFile, rspamdPassword, { mode: 0o600 });

    const job = ofKind<IJob>(objects, 'Job')[0]!;
    const jobContainer = job.spec!.template.spec!.containers[0]!;
    const migration = await runInRepo('node', fromSource(jobContainer), environment(jobContainer));
    expect(migration.code, migration.stderr).toBe(0);
    expect(migration.stdout).toMatch(/schema is at version \d+/);
    const store = openStore({ url: database.url, poolSize: 1, onIdleError: () => undefined });
    try {
      expect((await migrate(store.pool)).applied, 'the Job applied every migration').toEqual([]);
    } finally {
      await store.close();
    }

    const deployments = serviceDeployments(objects);
    const resolverGrpc = portOf(
      container(deployments.find((d) => componentOf(d) === 'dns-resolver')!),
      'grpc',
    )!.containerPort;
    const started = deployments.map((deployment) => {
      const component = componentOf(deployment);
      const c = container(deployment);
      const address = ADDRESSES[component]!;
      const env = environment(c);
      const reads = variablesFor(component).map((v) => v.name);
      for (const name of reads.filter((n) => n.endsWith('_HOST'))) env[name] = address;
      if (reads.includes('TEGAMI_NATS_PREFIX')) env['TEGAMI_NATS_PREFIX'] = nats.prefix;
      if (env['TEGAMI_TLS_CERT_FILE']) {
        env['TEGAMI_TLS_CERT_FILE'] = cert.certFile;
        env['TEGAMI_TLS_KEY_FILE'] = cert.keyFile;
      }
      if (env['TEGAMI_ADMIN_TLS_CERT_FILE']) {
        env['TEGAMI_ADMIN_TLS_CERT_FILE'] = cert.certFile;
        env['TEGAMI_ADMIN_TLS_KEY_FILE'] = cert.keyFile;
      }
      if (env['TEGAMI_SECRETS_KEY_FILE']) env['TEGAMI_SECRETS_KEY_FILE'] = secretsKeyFile;
      if (env['TEGAMI_SRS_SECRET_FILE']) env['TEGAMI_SRS_SECRET_FILE'] = srsSecretFile;
      if (env['TEGAMI_RSPAMD_URL']) env['TEGAMI_RSPAMD_URL'] = rspamd!.normalUrl;
      if (env['TEGAMI_RSPAMD_CONTROLLER_URL']) env['TEGAMI_RSPAMD_CONTROLLER_URL'] = rspamd!.controllerUrl;
      if (env['TEGAMI_RSPAMD_PASSWORD_FILE']) env['TEGAMI_RSPAMD_PASSWORD_FILE'] = rspamdPasswordFile;
      if (env['TEGAMI_RESOLVER_TARGET']) {
        env['TEGAMI_RESOLVER_TARGET'] = `dns:///${ADDRESSES['dns-resolver']}:${resolverGrpc}`;
      }
      const program = startInRepo('node', fromSource(c), env);
      programs.push(program);
      return { component, c, address, program };
    });

    await Promise.all(
      started.map(async ({ component, c, address, program }) => {
        const readiness = c.readinessProbe!.httpGet!;
        const readyPort = portOf(c, readiness.port)!.containerPort;
        await waitFor200(`http://${address}:${readyPort}${readiness.path}`, program, component);
        const liveness = c.livenessProbe!.httpGet!;
        const live = await fetch(
          `http://${address}:${portOf(c, liveness.port)!.containerPort}${liveness.path}`,
        );
        expect(live.status, `${component} ${liveness.path}`).toBe(200);

        const declared = (c.ports ?? []).map((p) => p.containerPort).sort((a, b) => a - b);
        for (const port of declared) {
          expect(await tcpConnects(address, port), `${component} accepts on ${address}:${port}`).toBe(true);
        }
        const listening = listeningPorts(address);
        if (listening)
          expect(listening, `${component} listens on exactly its container ports`).toEqual(declared);
      }),
    );
  }, 120_000);
});

async function waitFor200(url: string, program: Program, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (program.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `${what} never answered 200 at ${url} (last: ${status}):\n${program.output().slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** TCP ports in LISTEN on an IPv4 address, from /proc/net/tcp (undefined where there is none). */
function listeningPorts(address: string): number[] | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  // /proc/net/tcp writes the address as a little-endian hex word.
  const hex = address
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  const ports = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== '0A' || !local) continue;
    const [ip, port] = local.split(':');
    if (ip === hex) ports.add(Number.parseInt(port!, 16));
  }
  return [...ports].sort((a, b) => a - b);
}
