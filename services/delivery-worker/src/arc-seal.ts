import { authservIdOf, findHeaderEnd } from '@tegami/protocol';
import { sealMessage } from 'mailauth';

// An ARC set (RFC 8617) on mail an alias forwards: it carries the verdicts our smtp-ingress
// reached on arrival (its Authentication-Results) to the next hop, signed by the alias's
// domain. A receiver that trusts us can then accept a message whose SPF (our IP, not the
// author's) and DKIM (if the body was touched) no longer align with its From.

/** RFC 8617 §4.2.1: at most 50 ARC sets. */
export const MAX_ARC_SETS = 50;

export interface ArcSealKey {
  /** d= of the ARC-Message-Signature and ARC-Seal. */
  readonly domain: string;
  readonly selector: string;
  /** An rsa key (RFC 8617 §4.1.3 allows only rsa-sha256), PEM. */
  readonly privateKeyPem: string;
}

export type ChainValidation = 'none' | 'pass' | 'fail';

export type ArcSealResult =
  | {
      readonly kind: 'sealed';
      readonly message: Buffer;
      readonly instance: number;
      readonly cv: ChainValidation;
    }
  | { readonly kind: 'not-sealed'; readonly reason: string };

/**
 * Prepends an ARC set to the message. `authservId` names the Authentication-Results our
 * smtp-ingress wrote (it removes any other that claims that id on arrival, RFC 8601 §5):
 * its content becomes the ARC-Authentication-Results, its arc= result the seal's cv=.
 */
export async function arcSeal(
  message: Buffer,
  key: ArcSealKey,
  authservId: string,
  now: Date,
): Promise<ArcSealResult> {
  const fields = headerFields(message);
  const ours = fields.find(
    (f) => f.name === 'authentication-results' && authservIdOf(f.value) === authservId.toLowerCase(),
  );
  const chain = arcChain(fields);
  if (chain.kind === 'broken')
    return { kind: 'not-sealed', reason: `the ARC chain on it is broken (${chain.why})` };
  if (chain.sets >= MAX_ARC_SETS)
    return { kind: 'not-sealed', reason: `it has ${MAX_ARC_SETS} ARC sets already (RFC 8617 §4.2.1)` };
  // §5.2: a chain that a sealer declared failed stays failed; nothing we add can mend it.
  if (chain.lastCv === 'fail')
    return { kind: 'not-sealed', reason: 'its ARC chain failed at an earlier hop' };

  let cv: ChainValidation;
  if (chain.sets === 0) {
    cv = 'none';
  } else {
    // The inbound check's verdict on the chain as it arrived: arc=pass or arc=fail.
    const verdict = ours
      ? /(?:^|;)\s*arc\s*=\s*(pass|fail)\b/i.exec(ours.value)?.[1]?.toLowerCase()
      : undefined;
    if (verdict !== 'pass' && verdict !== 'fail')
      return { kind: 'not-sealed', reason: 'it carries an ARC chain that was not verified on arrival' };
    cv = verdict;
  }
  // RFC 8601 §2.2 "no-result": mail that arrived unchecked (submission, a local program).
  const authResults = ours ? ours.value : `${authservId}; none`;
  const seal = {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKeyPem,
    algorithm: 'rsa-sha256',
    signTime: now,
    // Not in mailauth's ARCSealOptions type, but read by its createSeal.
    authResults,
    cv,
  };
  const headers = await sealMessage(message, seal as Parameters<typeof sealMessage>[1]);
  // mailauth seals a message with no blank line after its header (header fields only) with
  // a set that lacks its ARC-Message-Signature and holds a blank line, which would push the
  // original header fields, From and Subject included, into the body (issue 21, found by
  // fuzzing). Such a set is not sent: the copy goes out unsealed, but intact.
  const added = headerFields(headers)
    .map((f) => f.name)
    .sort()
    .join(' ');
  if (
    findHeaderEnd(headers, 0, headers.length) >= 0 ||
    added !== 'arc-authentication-results arc-message-signature arc-seal'
  )
    return {
      kind: 'not-sealed',
      reason: 'mailauth wrote an incomplete ARC set (no blank line after the header?)',
    };
  const instance = Number(/\bi=(\d+)/.exec(headers.toString('latin1'))?.[1]);
  if (instance !== chain.sets + 1)
    return { kind: 'not-sealed', reason: `mailauth numbered the set i=${instance}, not ${chain.sets + 1}` };
  return { kind: 'sealed', message: Buffer.concat([headers, message]), instance, cv };
}

interface Field {
  /** Lower case. */
  readonly name: string;
  /** As written after the colon, folding kept, without the leading space and the final line end. */
  readonly value: string;
}

function headerFields(message: Buffer): Field[] {
  const end = findHeaderEnd(message, 0, message.length);
  const header = message.subarray(0, end < 0 ? message.length : end).toString('utf8');
  const fields: Field[] = [];
  for (const line of header.split(/(?<=\n)/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) {
      const last = fields.pop()!;
      fields.push({ name: last.name, value: last.value + line });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) });
  }
  return fields.map((f) => ({ name: f.name, value: f.value.replace(/^[ \t]+/, '').replace(/\r?\n$/, '') }));
}

type Chain =
  | { readonly kind: 'ok'; readonly sets: number; readonly lastCv: string | undefined }
  | { readonly kind: 'broken'; readonly why: string };

/** The ARC sets on the message: each instance 1..n must have exactly one field of each kind. */
function arcChain(fields: readonly Field[]): Chain {
  const kinds = ['arc-seal', 'arc-message-signature', 'arc-authentication-results'] as const;
  const byKind = new Map<string, Field[]>(kinds.map((k) => [k, []]));
  for (const f of fields) byKind.get(f.name)?.push(f);
  const seals = byKind.get('arc-seal')!;
  const instanceOf = (f: Field) =>
    Number(/(?:^|;)\s*i\s*=\s*(\d+)\s*(?:;|$)/.exec(f.value.replace(/\r?\n/g, ''))?.[1]);
  for (const kind of kinds) {
    const instances = byKind
      .get(kind)!
      .map(instanceOf)
      .sort((a, b) => a - b);
    if (instances.length !== seals.length)
      return { kind: 'broken', why: `${instances.length} ${kind} for ${seals.length} ARC-Seal` };
    if (instances.some((i, index) => i !== index + 1))
      return { kind: 'broken', why: `${kind} instances are not 1 to ${seals.length}` };
  }
  const last = seals.find((f) => instanceOf(f) === seals.length);
  const lastCv = last
    ? /(?:^|;)\s*cv\s*=\s*(\w+)/i.exec(last.value.replace(/\r?\n/g, ''))?.[1]?.toLowerCase()
    : undefined;
  return { kind: 'ok', sets: seals.length, lastCv };
}
