// `pnpm chaos [--seconds N] [--seed S] [--gap MIN-MAX]`: one chaos run by hand (issue 21
// §1). It prints its seed first; the same seed draws the same faults and requests again.

import { parseArgs } from 'node:util';
import { runChaos } from './chaos-run.js';
import { formatReport } from './report.js';

const USAGE = `usage: pnpm chaos [--seconds N] [--seed S] [--gap MIN-MAX] [--parallel N] [--smtp N] [--imap-sessions N] [--quiet]
  --seconds N        load with faults for N seconds (default 120)
  --seed S           the seed of the faults and the load (default: random, printed)
  --gap MIN-MAX      ms between one fault's end and the next (default 500-3000)
  --parallel N       fault streams at once, each its own schedule (default 1)
  --smtp N           concurrent SMTP clients (default 4)
  --imap-sessions N  IMAP sessions per IMAP user (default 2)
  --quiet            print only the report`;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    seed: { type: 'string' },
    gap: { type: 'string' },
    parallel: { type: 'string' },
    smtp: { type: 'string' },
    'imap-sessions': { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean' },
  },
  strict: true,
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const whole = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, not ${JSON.stringify(text)}\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const gap = /^(\d+)-(\d+)$/.exec(values.gap ?? '500-3000');
if (!gap || Number(gap[1]) > Number(gap[2])) {
  console.error(`--gap takes MIN-MAX in ms\n${USAGE}`);
  process.exit(2);
}
const seed = whole('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
const otherArgs = process.argv
  .slice(2)
  .filter((arg, i, all) => arg !== '--seed' && all[i - 1] !== '--seed' && !arg.startsWith('--seed='));
console.log(`seed ${seed} (replay: ${['pnpm chaos --seed', seed, ...otherArgs].join(' ')})`);
// Interrupted: exit, so that last-resort.ts stops what the run started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
const started = Date.now();
const report = await runChaos({
  seed,
  seconds: whole('seconds', values.seconds, 120),
  faultGapMs: [Number(gap[1]), Number(gap[2])],
  faultStreams: Math.max(1, whole('parallel', values.parallel, 1)),
  smtpConcurrency: whole('smtp', values.smtp, 4),
  imapSessionsPerUser: whole('imap-sessions', values['imap-sessions'], 2),
  log: values.quiet
    ? () => undefined
    : (line) =>
        console.log(
          `${new Date().toISOString().slice(11, 23)} ${((Date.now() - started) / 1000).toFixed(1).padStart(7)}  ${line}`,
        ),
});
console.log(formatReport(report));
process.exit(report.violations.length === 0 ? 0 : 1);
