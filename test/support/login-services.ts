import { freePort, type Program } from '@tegami/testing';
import { startInRepo } from './processes.js';

// smtp-ingress, pop-gateway and imap-gateway as real processes, the way the chart runs them,
// on loopback ports of their own with one certificate: for tests of what a client sees at
// login (TLS policy, SASL mechanisms). Postgres must be migrated already.

export interface LoginServices {
  readonly ports: {
    readonly mx: number;
    readonly submission: number;
    readonly submissions: number;
    readonly pop3: number;
    readonly pop3s: number;
    readonly imap: number;
    readonly imaps: number;
  };
  readonly smtp: Program;
  readonly pop: Program;
  readonly imap: Program;
  stop(): Promise<void>;
}

export const LOOPBACK = '127.0.0.1';

const node = (service: string) => [
  '--conditions=tegami-source',
  '--import',
  'tsx',
  `services/${service}/src/main.ts`,
];

/** Starts one service from source with `env`, until /readyz says ready. */
export async function startServiceProcess(service: string, env: Record<string, string>): Promise<Program> {
  const opsPort = await freePort();
  const program = startInRepo('node', node(service), {
    TEGAMI_LOG_LEVEL: 'info',
    ...env,
    TEGAMI_OPS_HOST: LOOPBACK,
    TEGAMI_OPS_PORT: String(opsPort),
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://${LOOPBACK}:${opsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return program;
    if (program.child.exitCode !== null || Date.now() > deadline) {
      program.signal('SIGKILL');
      throw new Error(`${service} did not become ready:\n${program.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, and SIGKILL if it has not exited within 15 s. */
export async function stopProgram(program: Program): Promise<void> {
  program.signal('SIGTERM');
  await program.exited(15_000).catch(() => program.signal('SIGKILL'));
}

/**
 * The three services that take logins, with `env` (DATABASE_URL, NATS_URL, TEGAMI_NATS_PREFIX,
 * TEGAMI_TLS_CERT_FILE/KEY_FILE and whatever the test sets) and every TLS port open.
 */
export async function startLoginServices(env: Record<string, string>): Promise<LoginServices> {
  const [mx, submission, submissions, pop3, pop3s, imap, imaps] = await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  );
  const started = await Promise.allSettled([
    startServiceProcess('smtp-ingress', {
      ...env,
      TEGAMI_SMTP_HOST: LOOPBACK,
      TEGAMI_SMTP_MX_PORT: String(mx),
      TEGAMI_SMTP_SUBMISSION_PORT: String(submission),
      TEGAMI_SMTP_SUBMISSIONS_PORT: String(submissions),
    }),
    startServiceProcess('pop-gateway', {
      ...env,
      TEGAMI_POP_HOST: LOOPBACK,
      TEGAMI_POP_PORT: String(pop3),
      TEGAMI_POPS_PORT: String(pop3s),
    }),
    startServiceProcess('imap-gateway', {
      ...env,
      TEGAMI_IMAP_HOST: LOOPBACK,
      TEGAMI_IMAP_PORT: String(imap),
      TEGAMI_IMAPS_PORT: String(imaps),
      TEGAMI_MANAGESIEVE_PORT: '0',
    }),
  ]);
  const programs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(programs.map(stopProgram));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [smtp, pop, imapProgram] = programs as [Program, Program, Program];
  return {
    ports: {
      mx: mx!,
      submission: submission!,
      submissions: submissions!,
      pop3: pop3!,
      pop3s: pop3s!,
      imap: imap!,
      imaps: imaps!,
    },
    smtp,
    pop,
    imap: imapProgram,
    stop,
  };
}
