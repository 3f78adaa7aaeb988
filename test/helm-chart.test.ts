import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
  grpc: 'TEGAMI_GRPC_PORT',
  ops: 'TEGAMI_OPS_PORT',
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

const named = (objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

const hookEvents = (o: K8sObject): string[] =>
  (o.metadata.annotations?.['helm.sh/hook'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

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
    for (const objects of [defaults, allOn]) {
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
      const deployments = ofKind<IDeployment>(objects, 'Deployment');
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
      for (const deployment of ofKind<IDeployment>(objects, 'Deployment')) {
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
    for (const deployment of ofKind<IDeployment>(allOn, 'Deployment')) {
      expect(deployment.spec!.template.metadata!.annotations?.['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('mounts the TLS Secret for the mail services, sets their TLS policy when given, and exposes the implicit-TLS ports only with it', () => {
    for (const deployment of ofKind<IDeployment>(defaults, 'Deployment')) {
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
    for (const deployment of ofKind<IDeployment>(allOn, 'Deployment')) {
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
    expect(ports('mail-imap')).toEqual([143, 993]);
  });

  it('mounts the CRAM-MD5/DIGEST-MD5 key file into the login services only, from a Secret, and sets nothing without one', () => {
    const loginServers = ['smtp-ingress', 'pop-gateway', 'imap-gateway'];
    for (const deployment of ofKind<IDeployment>(defaults, 'Deployment')) {
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
      for (const deployment of ofKind<IDeployment>(objects, 'Deployment')) {
        const component = componentOf(deployment);
        const c = container(deployment);
        const env = literalEnv(c);
        const pod = deployment.spec!.template.spec!;
        if (!loginServers.includes(component)) {
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
    const imap = ofKind<IDeployment>(allOn, 'Deployment').find((d) => componentOf(d) === 'imap-gateway')!;
    expect(literalEnv(container(imap))['TEGAMI_SASL_LEGACY_MECHANISMS']).toBe('true');
    // The migration Job needs no key: the services seal or delete the secrets when they start.
    const job = ofKind<IJob>(allOn, 'Job')[0]!;
    expect(job.spec!.template.spec!.containers[0]!.env?.map((e) => e.name)).not.toContain(
      'TEGAMI_SECRETS_KEY_FILE',
    );
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
      const resolver = ofKind<IDeployment>(objects, 'Deployment').find(
        (d) => componentOf(d) === 'dns-resolver',
      )!;
      const grpc = portOf(container(resolver), 'grpc')!;
      for (const component of ['delivery-worker', 'smtp-ingress']) {
        const client = ofKind<IDeployment>(objects, 'Deployment').find((d) => componentOf(d) === component)!;
        expect(literalEnv(container(client))['TEGAMI_RESOLVER_TARGET'], component).toBe(
          `dns:///${fullname}-dns-resolver-headless.mail.svc.cluster.local:${grpc.containerPort}`,
        );
      }
      expect(headless?.spec.ports[0].port).toBe(grpc.containerPort);
    }
  });

  it("passes smtp-ingress its port-25 connection checks' settings, none by default", () => {
    const smtpEnv = (objects: K8sObject[]) =>
      literalEnv(
        container(ofKind<IDeployment>(objects, 'Deployment').find((d) => componentOf(d) === 'smtp-ingress')!),
      );
    const names = ['TEGAMI_SMTP_DNSBL', 'TEGAMI_SMTP_REQUIRE_REVERSE_DNS', 'TEGAMI_SMTP_HELO_CHECKS'];
    for (const name of names) expect(smtpEnv(defaults)[name], name).toBeUndefined();
    expect(names.map((name) => smtpEnv(allOn)[name])).toEqual([
      'zen.spamhaus.org,bl.example.org',
      'true',
      'true',
    ]);
  });

  it('autoscales the four scalable services and guards every one with a PodDisruptionBudget', () => {
    for (const objects of [defaults, allOn]) {
      const deployments = ofKind<IDeployment>(objects, 'Deployment');
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
    expect(grpcRule.from).toEqual([
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'tegami',
            'app.kubernetes.io/instance': 'post',
            'app.kubernetes.io/component': 'delivery-worker',
          },
        },
      },
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'tegami',
            'app.kubernetes.io/instance': 'post',
            'app.kubernetes.io/component': 'smtp-ingress',
          },
        },
      },
    ]);

    const monitors = ofKind(allOn, 'ServiceMonitor');
    expect(monitors).toHaveLength(1);
    const monitor = monitors[0]!;
    const scraped = ofKind<IService>(allOn, 'Service').filter((s) =>
      matches(monitor.spec.selector.matchLabels, s.metadata!.labels),
    );
    expect(scraped).toHaveLength(deployments.length);
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

  beforeAll(async () => {
    database = await createTestDatabase();
    nats = await testNats();
    certDir = mkdtempSync(join(tmpdir(), 'tegami-helm-'));
  });

  afterAll(async () => {
    for (const program of programs) program.signal('SIGTERM');
    await Promise.all(programs.map((p) => p.exited(15_000).catch(() => p.signal('SIGKILL'))));
    await database?.drop().catch(() => undefined);
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

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

    const deployments = ofKind<IDeployment>(objects, 'Deployment');
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
      if (env['TEGAMI_SECRETS_KEY_FILE']) env['TEGAMI_SECRETS_KEY_FILE'] = secretsKeyFile;
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
