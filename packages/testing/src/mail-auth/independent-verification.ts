import type { TestDnsRecords } from '../dns-server.js';
import { runIndependent } from './python-runner.js';

/**
 * Verdicts of dkimpy and pyspf on the DNS data the test DNS server serves: the zone passed
 * here (the same `TestDnsRecords`) is answered inside Python with that server's semantics
 * (names any case, CNAME chains, empty non-terminals, `rcode`, `drop` as a timeout; `delayMs`
 * is not waited for), since these libraries normally ask the system resolver, which cannot
 * reach the test server. zone-semantics.test.ts compares both on every kind of node.
 */

/** One DNS question the independent implementation asked of the zone, in order. */
export interface IndependentDnsQuery {
  readonly name: string;
  readonly type: string;
}

/** RFC 8601 §2.7.1 results, as far as dkimpy tells them apart. */
export type IndependentDkimResult = 'pass' | 'fail' | 'temperror' | 'permerror';

export interface IndependentDkimVerdict {
  /**
   * pass; fail (body hash or signature mismatch); temperror (the key's TXT lookup got
   * SERVFAIL, REFUSED, … or no answer: dkimpy alone would call that a missing key);
   * permerror (no key record, an unusable or too small key, a malformed or expired signature).
   */
  readonly result: IndependentDkimResult;
  /** dkimpy's words. */
  readonly reason: string;
  /** d=, s= and a= of the signature, when it could be parsed. */
  readonly domain: string | null;
  readonly selector: string | null;
  readonly algorithm: string | null;
}

export interface DkimVerifyOptions {
  /** Smaller rsa keys fail (permerror); dkimpy's default 1024 (RFC 8301 §3.2). */
  readonly minKeyBits?: number;
}

/** Each DKIM-Signature of the message verified by dkimpy, top one first. */
export async function dkimVerifyIndependently(
  message: Buffer,
  zone: TestDnsRecords,
  options: DkimVerifyOptions = {},
): Promise<IndependentDkimVerdict[]> {
  const { signatures } = await runIndependent<{ signatures: IndependentDkimVerdict[] }>({
    op: 'dkim-verify',
    message: message.toString('base64'),
    zone,
    minKeyBits: options.minKeyBits ?? 1024,
  });
  return signatures;
}

export interface IndependentArcInstance {
  readonly instance: number;
  /** cv= of this set's ARC-Seal. */
  readonly cv: string | null;
  readonly amsValid: boolean;
  readonly asValid: boolean;
  readonly amsDomain: string | null;
  readonly asDomain: string | null;
}

export interface IndependentArcVerdict {
  /** The chain's validation status (RFC 8617 §5.2); a chain that an earlier seal declared failed is fail. */
  readonly cv: 'pass' | 'fail' | 'none';
  readonly reason: string;
  /** What dkimpy logged as errors (a missing key, a DNS failure). */
  readonly errors: readonly string[];
  /** Lookups that failed temporarily (SERVFAIL, REFUSED, no answer): dkimpy then says fail. */
  readonly temporaryDnsFailures: readonly string[];
  /** Per ARC set, newest first. */
  readonly instances: readonly IndependentArcInstance[];
}

/** The message's ARC chain verified by dkimpy. */
export async function arcVerifyIndependently(
  message: Buffer,
  zone: TestDnsRecords,
  options: DkimVerifyOptions = {},
): Promise<IndependentArcVerdict> {
  return runIndependent<IndependentArcVerdict>({
    op: 'arc-verify',
    message: message.toString('base64'),
    zone,
    minKeyBits: options.minKeyBits ?? 1024,
  });
}

export type IndependentSpfResult =
  | 'pass'
  | 'fail'
  | 'softfail'
  | 'neutral'
  | 'none'
  | 'temperror'
  | 'permerror';

export interface SpfCheckInput {
  /** The SMTP client's address, IPv4 or IPv6. */
  readonly ip: string;
  /**
   * MAIL FROM's address; empty (the null reverse-path) checks `postmaster@<helo>`, which is
   * the HELO identity's check (RFC 7208 §2.3, §2.4).
   */
  readonly sender: string;
  readonly helo: string;
  /** The %{r} macro; default "unknown". */
  readonly receiver?: string;
}

export interface IndependentSpfVerdict {
  readonly result: IndependentSpfResult;
  readonly explanation: string;
  /** Which identity pyspf checked. */
  readonly identity: 'mailfrom' | 'helo' | null;
  /** Every DNS question pyspf asked, in order (its 10-lookup and void-lookup limits, RFC 7208 §4.6.4, stop it). */
  readonly dnsQueries: readonly IndependentDnsQuery[];
}

/** The SPF result (RFC 7208) pyspf gives for the client, sender and HELO against the zone. */
export async function spfCheckIndependently(
  input: SpfCheckInput,
  zone: TestDnsRecords,
): Promise<IndependentSpfVerdict> {
  return runIndependent<IndependentSpfVerdict>({
    op: 'spf-check',
    ip: input.ip,
    sender: input.sender,
    helo: input.helo,
    receiver: input.receiver ?? null,
    zone,
  });
}

/** The zone's answer to one question, as independent_mail_auth.py computes it (for its own tests). */
export interface ZoneAnswer {
  /** NOERROR, NXDOMAIN, an `rcode` of the zone, or TIMEOUT for a `drop` name. */
  readonly rcode: string;
  readonly answers: readonly { readonly name: string; readonly type: string; readonly data: unknown }[];
}

export async function lookUpZoneInPython(
  zone: TestDnsRecords,
  queries: readonly IndependentDnsQuery[],
): Promise<ZoneAnswer[]> {
  const { answers } = await runIndependent<{ answers: ZoneAnswer[] }>({ op: 'zone-lookup', zone, queries });
  return answers;
}
