import { createHash } from 'node:crypto';

// The MTA-STS policy file (RFC 8461 §3.2), served at https://mta-sts.<domain>/.well-known/
// mta-sts.txt: "key: value" lines. Read by the delivery-worker for other domains, written by
// smtp-ingress for ours.

export type MtaStsMode = 'enforce' | 'testing' | 'none';

export interface MtaStsPolicy {
  readonly mode: MtaStsMode;
  /** MX host patterns: a host name, or `*.` and a domain (one leftmost label). Lower case. */
  readonly mx: readonly string[];
  /** Seconds the policy may be cached. */
  readonly maxAge: number;
}

export type MtaStsPolicyParse =
  | { readonly ok: true; readonly policy: MtaStsPolicy }
  | { readonly ok: false; readonly error: string };

/** RFC 8461 §3.2: "max_age" is at most 31557600 (about a year). */
export const MTA_STS_MAX_AGE_LIMIT = 31_557_600;
/** RFC 8461 §3.3: senders may refuse a policy body larger than 64 KiB. */
export const MTA_STS_POLICY_MAX_BYTES = 64 * 1024;

const MODES: ReadonlySet<string> = new Set(['enforce', 'testing', 'none']);
// sts-policy-ext-name (and the defined keys): alphanumeric, then up to 31 of [A-Za-z0-9_.-].
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A host name in the form an `mx` pattern may take after its optional `*.` (RFC 8461 §3.2). */
function isDomainName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((label) => LABEL.test(label));
}

/**
 * Parses a policy body. Lines end in LF or CRLF; unknown keys are ignored (§3.2); `mx` may
 * repeat, any other key counts the first time only. A policy missing `version: STSv1`, a
 * valid mode, a valid max_age, or (unless mode is none) an mx is invalid as a whole.
 */
export function parseMtaStsPolicy(text: string): MtaStsPolicyParse {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // Blank lines (a trailing one, mostly) carry nothing; being strict would only lose policies.
    if (line.trim() === '') continue;
    const field = FIELD.exec(line);
    if (!field) return { ok: false, error: `line ${index + 1} is not a "key: value" field` };
    const key = field[1]!;
    const value = field[2]!;
    if (key === 'version') version ??= value;
    else if (key === 'mode') mode ??= value;
    else if (key === 'max_age') maxAge ??= value;
    else if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
  }
  if (version !== 'STSv1') return { ok: false, error: `version is ${version ?? 'missing'}, not STSv1` };
  if (!mode || !MODES.has(mode)) return { ok: false, error: `mode is ${mode ?? 'missing'}` };
  if (!maxAge || !/^\d{1,10}$/.test(maxAge)) return { ok: false, error: `max_age is ${maxAge ?? 'missing'}` };
  const seconds = Number(maxAge);
  if (seconds > MTA_STS_MAX_AGE_LIMIT) {
    return { ok: false, error: `max_age ${seconds} is over the limit of ${MTA_STS_MAX_AGE_LIMIT}` };
  }
  for (const pattern of mx) {
    if (!isDomainName(pattern.startsWith('*.') ? pattern.slice(2) : pattern)) {
      return { ok: false, error: `mx "${pattern}" is not a host name or *.domain` };
    }
  }
  if (mode !== 'none' && mx.length === 0) return { ok: false, error: `mode ${mode} needs at least one mx` };
  return { ok: true, policy: { mode: mode as MtaStsMode, mx, maxAge: seconds } };
}

/** The policy file for `policy`, CRLF line ends as in RFC 8461's examples. */
export function renderMtaStsPolicy(policy: MtaStsPolicy): string {
  return [
    'version: STSv1',
    `mode: ${policy.mode}`,
    ...policy.mx.map((pattern) => `mx: ${pattern}`),
    `max_age: ${policy.maxAge}`,
  ]
    .map((line) => `${line}\r\n`)
    .join('');
}

/**
 * RFC 8461 §4.1: whether `host` (an MX host name) matches `pattern`. A `*.` wildcard stands
 * for exactly one leftmost label: `*.example.com` matches `mx.example.com`, not
 * `example.com` or `a.mx.example.com`. Case and a trailing dot do not matter.
 */
export function mxHostMatches(pattern: string, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const wanted = pattern.toLowerCase().replace(/\.$/, '');
  if (!wanted.startsWith('*.')) return name === wanted;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === wanted.slice(2);
}

/** Whether the policy lists `host` among its MX patterns. */
export function policyListsMx(policy: Pick<MtaStsPolicy, 'mx'>, host: string): boolean {
  return policy.mx.some((pattern) => mxHostMatches(pattern, host));
}

/**
 * An `id` for the `_mta-sts` TXT record (1-32 letters and digits, RFC 8461 §3.1) derived from
 * the policy text: publishing the record once per policy is enough, and a changed policy has
 * a new id, which is what tells senders to fetch it again (§3.1, §5.1).
 */
export function mtaStsPolicyId(policyText: string): string {
  return createHash('sha256').update(policyText).digest('hex').slice(0, 32);
}
