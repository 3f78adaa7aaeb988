// The faults of a chaos run: drawn from its seed before it starts (so a seed names a
// schedule), applied one after another while the load runs. A Tegami process killed
// here is started again as Kubernetes would; one that dies on its own is a finding.

import type { ChaosReplica } from './deployment.js';
import type { ChaosNats, ChaosPostgres } from './infrastructure.js';
import type { Random } from './random.js';

export type FaultKind =
  | 'sigkill'
  | 'sigterm'
  | 'postgres-restart'
  | 'nats-restart'
  | 'postgres-cut'
  | 'nats-cut'
  | 'disk-full';

export interface PlannedFault {
  readonly kind: FaultKind;
  /** Pause before it, after the one before ended. */
  readonly delayMs: number;
  /** sigkill/sigterm: which replica (an index into the deployment's list). */
  readonly replica: number;
  /** How long the process stays down, the partition or the full disk lasts (ms). */
  readonly durationMs: number;
  /** nats-restart: SIGKILL (no flush) or SIGTERM. */
  readonly hard: boolean;
}

export interface FaultEvent {
  readonly kind: FaultKind;
  readonly target: string;
  readonly start: number;
  readonly end: number;
  readonly error?: string;
}

const WEIGHTS: readonly [FaultKind, number][] = [
  ['sigkill', 30],
  ['sigterm', 12],
  ['postgres-restart', 10],
  ['nats-restart', 10],
  ['postgres-cut', 8],
  ['nats-cut', 8],
  ['disk-full', 6],
];

export function planFaults(
  random: Random,
  count: number,
  replicas: number,
  gapMs: [number, number],
): PlannedFault[] {
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const plan: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    let roll = random.next() * total;
    let kind: FaultKind = 'sigkill';
    for (const [k, w] of WEIGHTS) {
      roll -= w;
      if (roll < 0) {
        kind = k;
        break;
      }
    }
    plan.push({
      kind,
      delayMs: random.int(gapMs[0], gapMs[1]),
      replica: random.int(0, replicas - 1),
      durationMs: random.int(200, 4000),
      hard: random.chance(0.5),
    });
  }
  return plan;
}

export interface FaultTargets {
  readonly replicas: readonly ChaosReplica[];
  readonly postgres: ChaosPostgres;
  readonly nats: ChaosNats;
}

/** Replicas a fault has taken down on purpose; the supervisor leaves them alone. */
export const downOnPurpose = new Set<ChaosReplica>();

/** What a fault in progress holds (a replica's name, postgres, nats, disk): with several
 * fault streams, a second fault on the same thing is skipped, not stacked. */
const busy = new Set<string>();

function resourceOf(fault: PlannedFault, targets: FaultTargets): string {
  switch (fault.kind) {
    case 'sigkill':
    case 'sigterm':
      return targets.replicas[fault.replica % targets.replicas.length]!.name;
    case 'postgres-restart':
    case 'postgres-cut':
      return 'postgres';
    case 'nats-restart':
    case 'nats-cut':
      return 'nats';
    case 'disk-full':
      return 'disk';
  }
}

export async function applyFault(fault: PlannedFault, targets: FaultTargets): Promise<FaultEvent> {
  const resource = resourceOf(fault, targets);
  if (busy.has(resource)) {
    return { kind: fault.kind, target: `skipped: ${resource} is busy`, start: Date.now(), end: Date.now() };
  }
  busy.add(resource);
  try {
    return await apply(fault, targets);
  } finally {
    busy.delete(resource);
  }
}

async function apply(fault: PlannedFault, targets: FaultTargets): Promise<FaultEvent> {
  const start = Date.now();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let target = '';
  try {
    switch (fault.kind) {
      case 'sigkill':
      case 'sigterm': {
        const replica = targets.replicas[fault.replica % targets.replicas.length]!;
        target = replica.name;
        downOnPurpose.add(replica);
        try {
          await replica.stop(fault.kind === 'sigkill' ? 'SIGKILL' : 'SIGTERM');
          await sleep(Math.min(fault.durationMs, 1500));
          await replica.start();
        } finally {
          downOnPurpose.delete(replica);
        }
        break;
      }
      case 'postgres-restart':
        target = 'postgres';
        await targets.postgres.restartImmediate();
        break;
      case 'nats-restart':
        target = fault.hard ? 'nats (SIGKILL)' : 'nats (SIGTERM)';
        await targets.nats.restart(fault.hard ? 'SIGKILL' : 'SIGTERM');
        break;
      case 'postgres-cut':
      case 'nats-cut': {
        const proxy = fault.kind === 'postgres-cut' ? targets.postgres.proxy : targets.nats.proxy;
        target = fault.kind === 'postgres-cut' ? 'postgres network' : 'nats network';
        proxy.cut();
        await sleep(fault.durationMs);
        proxy.restore();
        break;
      }
      case 'disk-full': {
        target = 'blob tablespace';
        const disk = targets.postgres.smallDisk;
        if (!disk)
          return { kind: fault.kind, target: 'skipped: no tmpfs mount here', start, end: Date.now() };
        await disk.fill();
        try {
          await sleep(fault.durationMs);
        } finally {
          await disk.free();
        }
        break;
      }
    }
    return { kind: fault.kind, target, start, end: Date.now() };
  } catch (error) {
    return { kind: fault.kind, target, start, end: Date.now(), error: String(error) };
  }
}
