import { parseDmarcRecord, utcDay } from '@tegami/reports';
import { unwrapIpv4Mapped } from '@tegami/rpc';
import type { DmarcResultTally } from '@tegami/store';
import type { DmarcDisposition } from './dmarc-disposition.js';
import type { AuthResult, MessageAuthentication } from './mail-authentication.js';

// What a DMARC aggregate report (RFC 7489 §7.2, Appendix C) says of one received message:
// recorded for each message whose From domain publishes a DMARC record, whatever became of it.

/**
 * The report's row for the message; undefined when there is nothing to report: no DMARC
 * record (result none), or none known because the lookup failed (temperror).
 */
export function dmarcReportRecord(
  auth: MessageAuthentication,
  disposition: DmarcDisposition,
  message: { readonly clientIp: string; readonly sender: string; readonly helo: string; readonly at: Date },
): DmarcResultTally | undefined {
  const dmarc = auth.dmarc;
  const facts = dmarc?.report;
  if (!dmarc || !facts || (dmarc.result !== 'pass' && dmarc.result !== 'fail')) return undefined;
  const published = parseDmarcRecord(facts.record);
  if (!published) return undefined;
  const envelopeFrom = domainOf(message.sender);
  return {
    day: utcDay(message.at),
    policyDomain: facts.policyDomain,
    headerFrom: facts.headerFrom,
    envelopeFrom,
    sourceIp: unwrapIpv4Mapped(message.clientIp),
    disposition: disposition.action === 'accept' ? 'none' : disposition.action,
    dkimAligned: facts.dkimAligned,
    spfAligned: facts.spfAligned,
    reasons: overrideReasons(auth, disposition),
    // mailauth reports an unsigned message as one result `none` without a domain: no signature.
    dkimResults: auth.dkim
      .filter((d) => d.domain !== '')
      .map((d) => ({
        domain: d.domain,
        selector: d.selector,
        result: dkimResult(d.result),
      })),
    // The MAIL FROM identity's check; with the null reverse-path SPF checked the HELO name
    // (RFC 7208 §2.4), and the report says so (scope helo).
    spf: {
      domain: auth.spf.domain || envelopeFrom || message.helo,
      scope: envelopeFrom === '' ? 'helo' : 'mfrom',
      result: spfResult(auth.spf.result),
    },
    published: {
      p: published.p,
      sp: published.sp,
      pct: published.pct,
      adkim: published.adkim,
      aspf: published.aspf,
      fo: published.fo,
    },
    rua: published.rua,
  };
}

/** Why the disposition is not the published policy (RFC 7489 Appendix C PolicyOverrideType). */
function overrideReasons(
  auth: MessageAuthentication,
  disposition: DmarcDisposition,
): DmarcResultTally['reasons'] {
  switch (disposition.reason) {
    case 'pct':
      return [{ type: 'sampled_out' }];
    case 'arc':
      return [{ type: 'trusted_forwarder', comment: `arc=pass sealed by ${auth.arc.sealer ?? 'unknown'}` }];
    case 'enforcement':
      return [{ type: 'local_policy', comment: 'the receiver does not enforce this policy' }];
    default:
      return [];
  }
}

// The report's result types are RFC 8601's without the ones that cannot occur for the method.
function dkimResult(result: AuthResult): string {
  return result === 'softfail' ? 'fail' : result;
}

function spfResult(result: AuthResult): string {
  return result === 'policy' ? 'permerror' : result;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
