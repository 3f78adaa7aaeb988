import { isIP } from 'node:net';
import type { NodeStyleResolver } from '@tegami/rpc';
import { arc, type DNSResolver, dkimVerify, dmarc, spf } from 'mailauth';

// SPF (RFC 7208), DKIM (RFC 6376, RFC 8463), ARC (RFC 8617) and DMARC (RFC 7489) of one
// received message, by mailauth, with every DNS lookup through the dns-resolver. Nothing
// here decides what to do with the message: that is the disposition's job.

/** Results as RFC 8601 names them. */
export type AuthResult =
  | 'pass'
  | 'fail'
  | 'softfail'
  | 'neutral'
  | 'none'
  | 'temperror'
  | 'permerror'
  | 'policy';

export interface SpfCheck {
  readonly result: AuthResult;
  /** The identity checked: the MAIL FROM address, or postmaster@<HELO> for the HELO check. */
  readonly identity: string;
  /** The domain whose policy applied. */
  readonly domain: string;
  /** The `Authentication-Results` resinfo, e.g. `spf=pass (comment) smtp.mailfrom=a@b`. */
  readonly info: string;
}

export interface DkimCheck {
  readonly result: AuthResult;
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: string;
  readonly aligned: boolean;
  readonly info: string;
}

export interface DmarcCheck {
  readonly result: AuthResult;
  /** The RFC5322.From domain. */
  readonly domain: string;
  /** The policy that applies to that domain: `p`, or `sp` for a subdomain of the organizational domain. */
  readonly policy: 'none' | 'quarantine' | 'reject';
  /** Percentage of failing mail the policy is applied to (RFC 7489 §6.3 `pct`). */
  readonly pct: number;
  readonly info: string;
  /** What an aggregate report (RFC 7489 §7.2) says of the message; absent when no record was found. */
  readonly report?: DmarcReportFacts | undefined;
}

export interface DmarcReportFacts {
  /** The RFC5322.From domain itself (`domain` above is its organizational domain). */
  readonly headerFrom: string;
  /** Where the DMARC record was found: the From domain, or its organizational domain. */
  readonly policyDomain: string;
  /** The record as published (its tags: p, sp, pct, adkim, aspf, fo, rua). */
  readonly record: string;
  /** A DKIM signature that passed is aligned with the From domain (policy_evaluated dkim). */
  readonly dkimAligned: boolean;
  readonly spfAligned: boolean;
}

export interface ArcCheck {
  readonly result: AuthResult;
  /** The instance number of the newest ARC set (0: none). */
  readonly instance: number;
  /** The signing domain of the newest ARC set's seal, when there is one. */
  readonly sealer: string | undefined;
  readonly info: string;
}

export interface MessageAuthentication {
  readonly spf: SpfCheck;
  /** The HELO identity (RFC 7208 §2.3); absent for an address literal. */
  readonly helo: SpfCheck | undefined;
  /** One per DKIM-Signature, in order; empty when the message is not signed. */
  readonly dkim: readonly DkimCheck[];
  /** Absent when the message has no (single, parseable) From domain. */
  readonly dmarc: DmarcCheck | undefined;
  readonly arc: ArcCheck;
  /** True when the checks ran out of time and some results are temperror for that reason. */
  readonly timedOut: boolean;
}

export interface AuthenticationInput {
  readonly message: Buffer;
  readonly ip: string;
  readonly helo: string;
  /** The MAIL FROM address; '' for the null reverse-path. */
  readonly sender: string;
}

export interface AuthenticationOptions {
  /** Our host name: the authserv-id, and the name in SPF's comments. */
  readonly hostname: string;
  /** A fresh resolver per message (its deadline and abort signal belong to the message). */
  readonly resolver: NodeStyleResolver;
  /** Keys shorter than this fail (RFC 8301 wants 1024 at least). */
  readonly minKeyBits?: number;
}

export async function authenticateMessage(
  input: AuthenticationInput,
  options: AuthenticationOptions,
): Promise<Omit<MessageAuthentication, 'timedOut'>> {
  const { hostname } = options;
  // mailauth's type says TXT-shaped answers only; its code reads MX objects and address
  // lists too, which is what the resolver gives, as node:dns does.
  const resolver = options.resolver as DNSResolver;
  const minBitLength = options.minKeyBits ?? 1024;
  const helo = heloIdentity(input.helo);
  const [dkimOutcome, spfOutcome, heloOutcome] = await Promise.all([
    dkimVerify(input.message, { resolver, minBitLength, sender: input.sender || undefined }),
    // RFC 7208 §2.4: with the null reverse-path, the MAIL FROM identity is postmaster@HELO.
    spf({ sender: input.sender || undefined, ip: input.ip, helo: input.helo, mta: hostname, resolver }),
    helo ? spf({ sender: `postmaster@${helo}`, ip: input.ip, helo, mta: hostname, resolver }) : undefined,
  ]);
  const spfCheck = toSpfCheck(spfOutcome, 'mailfrom');
  const dkim = dkimOutcome.results.map((r): DkimCheck => {
    const reported = normalise(r.status.result);
    const result = dkimResult(reported, r.status.comment);
    return {
      result,
      domain: r.signingDomain ?? '',
      selector: r.selector ?? '',
      algorithm: r.algorithm ?? '',
      aligned: Boolean(r.status.aligned),
      info: result === reported ? r.info : r.info.replace(/^dkim=\w+/, `dkim=${result}`),
    };
  });
  const arcOutcome = await arc(dkimOutcome.arc as Parameters<typeof arc>[0], { resolver, minBitLength });
  const arcCheck: ArcCheck = {
    result: normalise(arcOutcome.status.result),
    instance: typeof arcOutcome.i === 'number' ? arcOutcome.i : 0,
    sealer: arcOutcome.signature ? arcOutcome.signature.signingDomain : undefined,
    info: arcOutcome.info ?? `arc=${normalise(arcOutcome.status.result)}`,
  };
  let dmarcCheck: DmarcCheck | undefined;
  if (dkimOutcome.headerFrom && dkimOutcome.headerFrom.length > 0) {
    // mailauth says which record applied but not where it found it (the From domain, or the
    // organizational domain after that): the lookup that answered with the record says.
    let recordFoundAt: string | undefined;
    const watching: DNSResolver = async (name, type) => {
      const answer = await resolver(name, type);
      if (type === 'TXT' && name.startsWith('_dmarc.') && dmarcRecordsIn(answer) === 1)
        recordFoundAt = name.slice('_dmarc.'.length).toLowerCase();
      return answer;
    };
    const outcome = await dmarc({
      headerFrom: dkimOutcome.headerFrom,
      spfDomains: spfCheck.result === 'pass' ? [spfCheck.domain] : [],
      dkimDomains: dkimOutcome.results
        .filter((r) => r.status.result === 'pass')
        .map((r) => ({
          ...(r.id !== undefined && { id: r.id }),
          domain: r.signingDomain,
          ...(r.status.aligned !== undefined && { aligned: r.status.aligned }),
          ...(r.status.underSized !== undefined && { underSized: r.status.underSized }),
        })),
      arcResult: arcOutcome,
      resolver: watching,
    });
    if (outcome) {
      const found = outcome as typeof outcome & {
        rr?: string;
        alignment?: { spf?: { result?: unknown }; dkim?: { result?: unknown } };
        status: { header?: { d?: string } };
      };
      const headerFrom = (found.status.header?.d ?? '').toLowerCase();
      dmarcCheck = {
        result: normalise(outcome.status.result),
        domain: outcome.domain,
        policy: policyOf(outcome.policy),
        pct: typeof outcome.pct === 'number' && outcome.pct >= 0 && outcome.pct <= 100 ? outcome.pct : 100,
        info: (outcome as { info?: string }).info ?? `dmarc=${normalise(outcome.status.result)}`,
        ...(typeof found.rr === 'string' &&
          headerFrom !== '' && {
            report: {
              headerFrom,
              policyDomain: recordFoundAt ?? headerFrom,
              record: found.rr,
              dkimAligned: Boolean(found.alignment?.dkim?.result),
              spfAligned: Boolean(found.alignment?.spf?.result),
            },
          }),
      };
    }
  }
  return {
    spf: spfCheck,
    helo: heloOutcome ? toSpfCheck(heloOutcome, 'helo') : undefined,
    dkim,
    dmarc: dmarcCheck,
    arc: arcCheck,
  };
}

/**
 * What the checks say when they could not finish in time: temperror for each, so a
 * receiver (and DMARC) treats them as "try again", never as fail.
 */
export function timedOutAuthentication(input: AuthenticationInput): MessageAuthentication {
  const domain = domainOf(input.sender) || heloIdentity(input.helo) || '';
  const identity = input.sender || `postmaster@${input.helo}`;
  return {
    spf: {
      result: 'temperror',
      identity,
      domain,
      info: `spf=temperror (checks timed out) smtp.mailfrom=${identity}`,
    },
    helo: undefined,
    dkim: [],
    dmarc: undefined,
    arc: { result: 'none', instance: 0, sealer: undefined, info: 'arc=none' },
    timedOut: true,
  };
}

type SpfOutcome = Awaited<ReturnType<typeof spf>>;

function toSpfCheck(outcome: SpfOutcome, kind: 'mailfrom' | 'helo'): SpfCheck {
  const result = normalise(outcome.status.result);
  const identity = outcome['envelope-from'] ?? '';
  const comment = outcome.status.comment ? ` (${outcome.status.comment.replace(/[()\\]/g, '')})` : '';
  const info =
    kind === 'helo'
      ? `spf=${result}${comment} smtp.helo=${outcome.helo ?? identity.replace(/^postmaster@/, '')}`
      : `spf=${result}${comment} smtp.mailfrom=${identity}`;
  return { result, identity, domain: outcome.domain, info };
}

/** How many of a TXT answer's records (node:dns shape: arrays of strings) are DMARC records. */
function dmarcRecordsIn(answer: unknown): number {
  if (!Array.isArray(answer)) return 0;
  return answer.filter((record) => Array.isArray(record) && /^v=DMARC1\b/i.test(record.join('').trim()))
    .length;
}

/** The HELO name as an SPF identity: a domain name, never an address literal or garbage. */
function heloIdentity(helo: string): string | undefined {
  const name = helo.trim().replace(/\.$/, '');
  if (name === '' || name.startsWith('[') || isIP(name) !== 0 || !name.includes('.')) return undefined;
  return /^[a-z0-9._-]+$/i.test(name) ? name.toLowerCase() : undefined;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

function policyOf(policy: string | undefined): DmarcCheck['policy'] {
  const lower = (policy ?? '').toLowerCase();
  return lower === 'reject' || lower === 'quarantine' ? lower : 'none';
}

/**
 * mailauth says `neutral` for two outcomes RFC 6376 §6.1 calls PERMFAIL: a body that does
 * not match its hash (the signature failed its test: RFC 8601 `fail`, as dkimpy and
 * OpenDKIM say) and a key record that does not exist (`permerror`, as dkimpy says).
 */
function dkimResult(result: AuthResult, comment: string | undefined): AuthResult {
  if (result !== 'neutral') return result;
  if (comment === 'body hash did not verify') return 'fail';
  if (comment === 'no key') return 'permerror';
  return result;
}

/** mailauth spells one result `temperr` in places; RFC 8601 says temperror. */
function normalise(result: string | undefined): AuthResult {
  switch (result) {
    case 'pass':
    case 'fail':
    case 'softfail':
    case 'neutral':
    case 'none':
    case 'temperror':
    case 'permerror':
    case 'policy':
      return result;
    case 'temperr':
      return 'temperror';
    default:
      return 'none';
  }
}
