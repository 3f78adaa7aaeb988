import type { DkimAlgorithm } from './key-pair.js';

// The DNS side of a DKIM key (RFC 6376 §3.6): where its TXT record lives, what it says, how
// to write it in a zone file, and whether a record found in DNS publishes a given key.

/** `<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1). */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** The `k=` tag of an algorithm (RFC 6376 §3.6.1, RFC 8463 §4.2). */
export function dkimKeyType(algorithm: DkimAlgorithm): 'rsa' | 'ed25519' {
  return algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
}

/** The TXT value that publishes a key: `v=DKIM1; k=rsa; p=MIIB…`. */
export function dkimRecordValue(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${dkimKeyType(algorithm)}; p=${publicKey}`;
}

// RFC 1035 §3.3.14: a TXT record is a list of character-strings of at most 255 octets each;
// a 2048-bit RSA key does not fit in one, and receivers join them (RFC 6376 §3.6.2.2).
const MAX_CHARACTER_STRING = 255;

/** A value cut into character-strings of at most 255 octets (the values here are ASCII). */
export function txtCharacterStrings(value: string): string[] {
  const strings: string[] = [];
  for (let at = 0; at < value.length; at += MAX_CHARACTER_STRING) {
    strings.push(value.slice(at, at + MAX_CHARACTER_STRING));
  }
  return strings.length > 0 ? strings : [''];
}

/** One zone file line: `name. IN TXT "…" "…"` (absolute name, the zone's default TTL). */
export function zoneFileTxtLine(name: string, value: string): string {
  const quoted = txtCharacterStrings(value).map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`);
  return `${name}. IN TXT ${quoted.join(' ')}`;
}

export type SelectorParse =
  | { readonly ok: true; readonly selector: string }
  | { readonly ok: false; readonly problem: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A selector as RFC 6376 §3.1 allows it (`sub-domain *("." sub-domain)`), kept to the
 * letters, digits and hyphens a DNS name can carry everywhere, lower-cased: the name it
 * makes is looked up case-insensitively, and the store keys rows by it.
 */
export function parseDkimSelector(input: string): SelectorParse {
  const selector = input.trim().toLowerCase();
  if (selector === '') return { ok: false, problem: 'a selector cannot be empty' };
  if (selector.split('.').every((label) => LABEL.test(label))) return { ok: true, selector };
  return {
    ok: false,
    problem: `selector "${input}": use DNS labels of letters, digits and inner hyphens, joined by dots`,
  };
}

/** What a DKIM key record says (RFC 6376 §3.6.1), the tags a signer must agree with. */
export interface DkimKeyRecord {
  /** `k=`, default `rsa`. */
  readonly keyType: string;
  /** `p=` without whitespace; empty: the key was revoked. */
  readonly publicKey: string;
  /** `h=`, when given: the hash algorithms the key may be used with. */
  readonly hashes?: readonly string[];
  /** `s=`, default `*`. */
  readonly services: readonly string[];
  /** `t=y`: the domain is testing DKIM, and verifiers must not treat mail differently. */
  readonly testing: boolean;
}

export type DkimKeyRecordParse =
  | { readonly ok: true; readonly record: DkimKeyRecord }
  | { readonly ok: false; readonly problem: string };

const TAG = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Parses the joined strings of one TXT record as a DKIM key record. */
export function parseDkimKeyRecord(text: string): DkimKeyRecordParse {
  const tags = new Map<string, string>();
  const specs = text.split(';');
  // A tag-list may end with ";" (RFC 6376 §3.2), leaving one empty spec at the end.
  if (specs.length > 1 && specs.at(-1)!.trim() === '') specs.pop();
  for (const [index, spec] of specs.entries()) {
    const equals = spec.indexOf('=');
    if (equals < 0) return { ok: false, problem: `"${spec.trim()}" is not tag=value` };
    const name = spec.slice(0, equals).trim();
    const value = spec.slice(equals + 1).trim();
    if (!TAG.test(name)) return { ok: false, problem: `"${name}" is not a tag name` };
    // §3.2: a tag twice makes the whole list invalid. §3.6.1: v= first when present.
    if (tags.has(name)) return { ok: false, problem: `tag ${name}= appears twice` };
    if (name === 'v' && (index !== 0 || value !== 'DKIM1')) {
      return { ok: false, problem: 'v= must come first and be DKIM1' };
    }
    tags.set(name, value);
  }
  const publicKey = tags.get('p');
  if (publicKey === undefined) return { ok: false, problem: 'no p= tag' };
  const list = (value: string | undefined) =>
    value
      ?.split(':')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item !== '');
  const hashes = list(tags.get('h'));
  return {
    ok: true,
    record: {
      keyType: (tags.get('k') ?? 'rsa').toLowerCase(),
      publicKey: publicKey.replace(/\s+/g, ''),
      ...(hashes && { hashes }),
      services: list(tags.get('s')) ?? ['*'],
      testing: (list(tags.get('t')) ?? []).includes('y'),
    },
  };
}

/** How a key's name in DNS compares with the key. */
export type DkimRecordMatch =
  | { readonly kind: 'published'; readonly testing: boolean }
  | { readonly kind: 'missing' }
  | { readonly kind: 'revoked' }
  | { readonly kind: 'different'; readonly detail: string }
  | { readonly kind: 'invalid'; readonly detail: string }
  | { readonly kind: 'ambiguous'; readonly count: number };

/**
 * Compares the TXT records found at a key's name (each as its character-strings) with the
 * key. Other TXT records there (an SPF record by mistake) are not counted; more than one
 * DKIM record leaves the choice to each verifier, so it is a problem of its own.
 */
export function matchDkimRecords(
  records: readonly (readonly string[])[],
  expected: { readonly algorithm: DkimAlgorithm; readonly publicKey: string },
): DkimRecordMatch {
  // What a verifier would take for a key record: one that says v=DKIM1 or carries a p=.
  const candidates = records
    .map((strings) => strings.join(''))
    .filter((text) => /^\s*v\s*=\s*DKIM1\b/.test(text) || /(^|;)\s*p\s*=/.test(text));
  if (candidates.length === 0) return { kind: 'missing' };
  if (candidates.length > 1) return { kind: 'ambiguous', count: candidates.length };
  const parsed = parseDkimKeyRecord(candidates[0]!);
  if (!parsed.ok) return { kind: 'invalid', detail: parsed.problem };
  const { record } = parsed;
  if (record.publicKey === '') return { kind: 'revoked' };
  const keyType = dkimKeyType(expected.algorithm);
  if (record.keyType !== keyType) {
    return { kind: 'different', detail: `k=${record.keyType}, this key is k=${keyType}` };
  }
  if (record.publicKey !== expected.publicKey)
    return { kind: 'different', detail: 'another public key (p=)' };
  if (record.hashes && !record.hashes.includes('sha256')) {
    return { kind: 'different', detail: `h=${record.hashes.join(':')} does not allow sha256` };
  }
  if (!record.services.includes('*') && !record.services.includes('email')) {
    return { kind: 'different', detail: `s=${record.services.join(':')} is not for email` };
  }
  return { kind: 'published', testing: record.testing };
}
