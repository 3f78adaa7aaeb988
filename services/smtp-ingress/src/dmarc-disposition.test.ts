import { describe, expect, it } from 'vitest';
import { type DispositionPolicy, dmarcDisposition } from './dmarc-disposition.js';
import type { DmarcCheck, MessageAuthentication } from './mail-authentication.js';

function auth(dmarc: Partial<DmarcCheck> | undefined, arc: Partial<MessageAuthentication['arc']> = {}) {
  return {
    spf: { result: 'fail', identity: 'x@example.org', domain: 'example.org', info: '' },
    helo: undefined,
    dkim: [],
    dmarc: dmarc && {
      result: 'fail',
      domain: 'example.org',
      policy: 'reject',
      pct: 100,
      info: '',
      ...dmarc,
    },
    arc: { result: 'none', instance: 0, sealer: undefined, info: '', ...arc },
    timedOut: false,
  } as MessageAuthentication;
}

const follow: DispositionPolicy = { enforcement: 'reject', trustedSealers: new Set(['lists.example.net']) };

describe('the DMARC disposition (RFC 7489 §6.6)', () => {
  it('accepts a pass, a missing policy, p=none, and errors (never acted on, §6.6.3)', () => {
    expect(dmarcDisposition(auth({ result: 'pass' }), follow)).toEqual({ action: 'accept', reason: 'pass' });
    expect(dmarcDisposition(auth(undefined), follow)).toEqual({ action: 'accept', reason: 'none' });
    expect(dmarcDisposition(auth({ policy: 'none' }), follow).action).toBe('accept');
    expect(dmarcDisposition(auth({ result: 'temperror' }), follow).action).toBe('accept');
    expect(dmarcDisposition(auth({ result: 'permerror' }), follow).action).toBe('accept');
  });

  it('applies the published policy to a failure', () => {
    expect(dmarcDisposition(auth({ policy: 'reject' }), follow)).toEqual({
      action: 'reject',
      reason: 'policy',
    });
    expect(dmarcDisposition(auth({ policy: 'quarantine' }), follow)).toEqual({
      action: 'quarantine',
      reason: 'policy',
    });
  });

  it('samples with pct: inside the percentage the policy, outside the next less strict one', () => {
    const at = (n: number): DispositionPolicy => ({ ...follow, sample: () => n });
    expect(dmarcDisposition(auth({ pct: 30 }), at(29.9)).action).toBe('reject');
    expect(dmarcDisposition(auth({ pct: 30 }), at(30))).toEqual({ action: 'quarantine', reason: 'pct' });
    expect(dmarcDisposition(auth({ policy: 'quarantine', pct: 0 }), at(0))).toEqual({
      action: 'accept',
      reason: 'pct',
    });
  });

  it('lets the operator soften it: quarantine instead of reject, or only report', () => {
    expect(dmarcDisposition(auth({}), { ...follow, enforcement: 'quarantine' })).toEqual({
      action: 'quarantine',
      reason: 'enforcement',
    });
    expect(
      dmarcDisposition(auth({ policy: 'quarantine' }), { ...follow, enforcement: 'quarantine' }).action,
    ).toBe('quarantine');
    expect(dmarcDisposition(auth({}), { ...follow, enforcement: 'report' })).toEqual({
      action: 'accept',
      reason: 'enforcement',
    });
  });

  it('trusts an intact ARC chain sealed last by a trusted forwarder, and no other', () => {
    expect(dmarcDisposition(auth({}, { result: 'pass', sealer: 'Lists.Example.net' }), follow)).toEqual({
      action: 'accept',
      reason: 'arc',
    });
    expect(dmarcDisposition(auth({}, { result: 'pass', sealer: 'evil.example' }), follow).action).toBe(
      'reject',
    );
    expect(dmarcDisposition(auth({}, { result: 'fail', sealer: 'lists.example.net' }), follow).action).toBe(
      'reject',
    );
  });
});
