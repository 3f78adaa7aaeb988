import type { MessageAuthentication } from './mail-authentication.js';

/**
 * What the operator lets DMARC do (TEGAMI_DMARC_ENFORCEMENT): `reject` follows the
 * published policy (reject in the session, quarantine into Junk), `quarantine` never
 * refuses (both into Junk), `report` only records the result.
 */
export type DmarcEnforcement = 'reject' | 'quarantine' | 'report';

export interface DmarcDisposition {
  readonly action: 'accept' | 'quarantine' | 'reject';
  /**
   * Why, for the log and the trace: `policy` (the published policy applied), `pct`
   * (sampled out, RFC 7489 §6.6.4), `arc` (a trusted forwarder's seal vouched for the
   * message), `enforcement` (the operator's setting softened it), or `pass`/`none`.
   */
  readonly reason: 'pass' | 'none' | 'policy' | 'pct' | 'arc' | 'enforcement';
}

export interface DispositionPolicy {
  readonly enforcement: DmarcEnforcement;
  /** Domains whose ARC seal may override a DMARC failure (lower case). */
  readonly trustedSealers: ReadonlySet<string>;
  /** A number in [0, 100) for `pct` sampling; Math.random() * 100 unless a test fixes it. */
  readonly sample?: () => number;
}

/**
 * RFC 7489 §6.6: a message that fails DMARC gets the domain's policy, applied to `pct`
 * percent of such mail; the rest gets the next less strict one (§6.3: reject → quarantine,
 * quarantine → none). A temporary or permanent error is never acted on (§6.6.3: the
 * message is treated as if there were no policy). RFC 7489 §6.7 lets local policy override:
 * an intact ARC chain sealed last by a trusted forwarder does.
 */
export function dmarcDisposition(auth: MessageAuthentication, policy: DispositionPolicy): DmarcDisposition {
  const dmarc = auth.dmarc;
  if (!dmarc) return { action: 'accept', reason: 'none' };
  if (dmarc.result === 'pass') return { action: 'accept', reason: 'pass' };
  if (dmarc.result !== 'fail' || dmarc.policy === 'none') return { action: 'accept', reason: 'none' };
  if (
    auth.arc.result === 'pass' &&
    auth.arc.sealer !== undefined &&
    policy.trustedSealers.has(auth.arc.sealer.toLowerCase())
  ) {
    return { action: 'accept', reason: 'arc' };
  }
  let action: DmarcDisposition['action'] = dmarc.policy;
  let reason: DmarcDisposition['reason'] = 'policy';
  const sample = policy.sample ?? (() => Math.random() * 100);
  if (dmarc.pct < 100 && sample() >= dmarc.pct) {
    action = action === 'reject' ? 'quarantine' : 'accept';
    reason = 'pct';
  }
  if (policy.enforcement === 'report' && action !== 'accept')
    return { action: 'accept', reason: 'enforcement' };
  if (policy.enforcement === 'quarantine' && action === 'reject') {
    return { action: 'quarantine', reason: 'enforcement' };
  }
  return { action, reason };
}
