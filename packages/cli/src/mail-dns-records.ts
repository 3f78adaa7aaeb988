// The DNS records a domain owner publishes beside the DKIM keys so that receivers trust the
// domain's mail and report on it: SPF, DMARC, MTA-STS and TLS-RPT. `tegami dkim check`
// looks them up and says, for each, whether it is there and well formed, and what to
// publish when it is not. Pure: the TXT lookups come in as a function.

/** What a TXT lookup found at a name: each record's strings joined, as RFCs say to read them. */
export type TxtAnswer =
  | { readonly kind: 'records'; readonly records: readonly string[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'error'; readonly detail: string };

export type RecordStatus = 'ok' | 'warning' | 'missing' | 'invalid' | 'unknown';

export interface RecordCheck {
  /** SPF, DMARC, MTA-STS, TLS-RPT. */
  readonly kind: string;
  /** The DNS name looked up. */
  readonly name: string;
  readonly status: RecordStatus;
  /** What was found, or what is wrong. */
  readonly detail: string;
  /** A record to publish when the one there is missing or wrong. */
  readonly suggestion?: string | undefined;
}

export interface MailDnsExpectations {
  /** The address reports go to in the suggested records. */
  readonly reportAddress: string;
  /** The `id` of the MTA-STS policy this installation serves, when it serves one. */
  readonly mtaStsPolicyId?: string | undefined;
}

/** Checks SPF, DMARC, MTA-STS and TLS-RPT of `domain`, in that order. */
export async function checkMailDnsRecords(
  domain: string,
  lookupTxt: (name: string) => Promise<TxtAnswer>,
  expect: MailDnsExpectations,
): Promise<RecordCheck[]> {
  const [spf, dmarc, sts, tlsrpt] = await Promise.all([
    lookupTxt(domain),
    lookupTxt(`_dmarc.${domain}`),
    lookupTxt(`_mta-sts.${domain}`),
    lookupTxt(`_smtp._tls.${domain}`),
  ]);
  return [
    checkSpf(domain, spf),
    checkDmarc(domain, dmarc, expect),
    checkMtaSts(domain, sts, expect),
    checkTlsRpt(domain, tlsrpt, expect),
  ];
}

/** The records with the version tag `tag` (case-insensitive, RFC 7208 §4.5 and kin). */
function tagged(answer: TxtAnswer, tag: RegExp): readonly string[] {
  return answer.kind === 'records' ? answer.records.filter((r) => tag.test(r.trim())) : [];
}

function lookupFailure(kind: string, name: string, answer: TxtAnswer): RecordCheck | undefined {
  if (answer.kind !== 'error') return undefined;
  return { kind, name, status: 'unknown', detail: `lookup failed: ${answer.detail}` };
}

export function checkSpf(domain: string, answer: TxtAnswer): RecordCheck {
  const kind = 'SPF';
  const suggestion = `${domain}. TXT "v=spf1 mx -all"`;
  const failed = lookupFailure(kind, domain, answer);
  if (failed) return failed;
  const records = tagged(answer, /^v=spf1(\s|$)/i);
  if (records.length === 0) {
    return { kind, name: domain, status: 'missing', detail: 'no v=spf1 record', suggestion };
  }
  // RFC 7208 §4.5: more than one SPF record is a permerror for every receiver.
  if (records.length > 1) {
    return {
      kind,
      name: domain,
      status: 'invalid',
      detail: `${records.length} v=spf1 records (receivers treat that as permerror): merge them into one`,
      suggestion,
    };
  }
  const record = records[0]!;
  const all = /(?:^|\s)([-~?+]?)all(?:\s|$)/i.exec(record);
  if (!all) {
    return {
      kind,
      name: domain,
      status: 'warning',
      detail: `"${record}" ends without an "all" mechanism: unlisted senders are neutral`,
    };
  }
  if (all[1] === '+' || all[1] === '?' || all[1] === '') {
    const qualifier = all[1] === '' ? '+' : all[1];
    return {
      kind,
      name: domain,
      status: 'warning',
      detail: `"${record}" ends with ${qualifier}all: anyone may send as ${domain}`,
      suggestion,
    };
  }
  return { kind, name: domain, status: 'ok', detail: `"${record}"` };
}

/** The tags of a `k=v; k=v` record (DMARC, TLS-RPT, MTA-STS TXT), names lower-cased. */
export function recordTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return tags;
}

export function checkDmarc(domain: string, answer: TxtAnswer, expect: MailDnsExpectations): RecordCheck {
  const kind = 'DMARC';
  const name = `_dmarc.${domain}`;
  const suggestion = `${name}. TXT "v=DMARC1; p=quarantine; rua=mailto:${expect.reportAddress}"`;
  const failed = lookupFailure(kind, name, answer);
  if (failed) return failed;
  const records = tagged(answer, /^v\s*=\s*DMARC1\s*(;|$)/);
  if (records.length === 0)
    return { kind, name, status: 'missing', detail: 'no v=DMARC1 record', suggestion };
  // RFC 7489 §6.6.3: more than one record means no policy at all.
  if (records.length > 1) {
    return {
      kind,
      name,
      status: 'invalid',
      detail: `${records.length} v=DMARC1 records: receivers ignore them all`,
      suggestion,
    };
  }
  const record = records[0]!;
  const tags = recordTags(record);
  const policy = tags.get('p')?.toLowerCase();
  if (policy !== 'none' && policy !== 'quarantine' && policy !== 'reject') {
    return {
      kind,
      name,
      status: 'invalid',
      detail: `"${record}" has no valid p= (none, quarantine or reject)`,
      suggestion,
    };
  }
  if (!tags.get('rua')) {
    return {
      kind,
      name,
      status: 'warning',
      detail: `"${record}" asks for no aggregate reports (no rua=)`,
      suggestion,
    };
  }
  if (policy === 'none') {
    return {
      kind,
      name,
      status: 'warning',
      detail: `"${record}": p=none only monitors; forged mail is still delivered`,
    };
  }
  return { kind, name, status: 'ok', detail: `"${record}"` };
}

export function checkMtaSts(domain: string, answer: TxtAnswer, expect: MailDnsExpectations): RecordCheck {
  const kind = 'MTA-STS';
  const name = `_mta-sts.${domain}`;
  const id = expect.mtaStsPolicyId;
  const suggestion = id ? `${name}. TXT "v=STSv1; id=${id}"` : undefined;
  const failed = lookupFailure(kind, name, answer);
  if (failed) return failed;
  const records = tagged(answer, /^v=STSv1\s*(;|$)/);
  if (records.length === 0) {
    return {
      kind,
      name,
      status: id ? 'missing' : 'warning',
      detail: id
        ? 'no v=STSv1 record: senders never fetch the policy this installation serves'
        : 'no v=STSv1 record (and no policy served here: TEGAMI_MTA_STS_MODE)',
      suggestion,
    };
  }
  // RFC 8461 §3.1: several records mean none.
  if (records.length > 1)
    return {
      kind,
      name,
      status: 'invalid',
      detail: `${records.length} v=STSv1 records: senders ignore them`,
      suggestion,
    };
  const record = records[0]!;
  const published = recordTags(record).get('id');
  if (!published || !/^[A-Za-z0-9]{1,32}$/.test(published)) {
    return {
      kind,
      name,
      status: 'invalid',
      detail: `"${record}" has no valid id= (1 to 32 letters and digits)`,
      suggestion,
    };
  }
  if (id && published !== id) {
    return {
      kind,
      name,
      status: 'warning',
      detail: `id=${published} but the policy served here has id ${id}: senders keep the old policy until it expires`,
      suggestion,
    };
  }
  return { kind, name, status: 'ok', detail: `"${record}"` };
}

export function checkTlsRpt(domain: string, answer: TxtAnswer, expect: MailDnsExpectations): RecordCheck {
  const kind = 'TLS-RPT';
  const name = `_smtp._tls.${domain}`;
  const suggestion = `${name}. TXT "v=TLSRPTv1; rua=mailto:${expect.reportAddress}"`;
  const failed = lookupFailure(kind, name, answer);
  if (failed) return failed;
  const records = tagged(answer, /^v=TLSRPTv1\s*(;|$)/);
  if (records.length === 0)
    return { kind, name, status: 'missing', detail: 'no v=TLSRPTv1 record', suggestion };
  // RFC 8460 §3: several records mean no reporting.
  if (records.length > 1)
    return {
      kind,
      name,
      status: 'invalid',
      detail: `${records.length} v=TLSRPTv1 records: senders ignore them`,
      suggestion,
    };
  const record = records[0]!;
  const rua = recordTags(record).get('rua');
  const valid = rua?.split(',').every((uri) => /^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(uri.trim()));
  if (!valid) {
    return {
      kind,
      name,
      status: 'invalid',
      detail: `"${record}" has no valid rua= (mailto: or https: URIs)`,
      suggestion,
    };
  }
  return { kind, name, status: 'ok', detail: `"${record}"` };
}
