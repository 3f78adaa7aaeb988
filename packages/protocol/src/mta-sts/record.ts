// The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1): "v=STSv1; id=<1-32 alphanumerics>;"
// announces that the domain has a policy and which version of it is current.

export type MtaStsRecordLookup =
  | { readonly kind: 'record'; readonly id: string }
  /** No record, several, or one that does not parse: the domain has no available policy. */
  | { readonly kind: 'none'; readonly reason: string };

const VERSION = 'v=STSv1';
const ID = /^id=([A-Za-z0-9]{1,32})$/;
// sts-ext-name "=" sts-ext-value
const EXTENSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * Picks the policy record among a name's TXT records (each given as its character-strings,
 * which are joined with nothing between them, RFC 7208 §3.3 style). Records not starting with
 * `v=STSv1;` are someone else's; if exactly one is left, it must parse (§3.1).
 */
export function selectMtaStsRecord(records: readonly (readonly string[])[]): MtaStsRecordLookup {
  const ours = records.map((strings) => strings.join('')).filter((text) => /^v=STSv1[ \t]*;/.test(text));
  if (ours.length === 0) return { kind: 'none', reason: 'no v=STSv1 record' };
  if (ours.length > 1) return { kind: 'none', reason: `${ours.length} v=STSv1 records` };
  return parseMtaStsRecord(ours[0]!);
}

/** Parses one record: `v=STSv1` first, then fields separated by `;` with optional blanks. */
export function parseMtaStsRecord(text: string): MtaStsRecordLookup {
  const fields = text.split(';').map((field) => field.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (fields.at(-1) === '') fields.pop();
  if (fields[0] !== VERSION) return { kind: 'none', reason: 'record does not start with v=STSv1' };
  let id: string | undefined;
  for (const field of fields.slice(1)) {
    const match = ID.exec(field);
    if (match) {
      if (id !== undefined) return { kind: 'none', reason: 'record has two ids' };
      id = match[1]!;
    } else if (field.startsWith('id=') || !EXTENSION.test(field)) {
      return { kind: 'none', reason: `record field "${field.slice(0, 40)}" does not parse` };
    }
  }
  return id === undefined ? { kind: 'none', reason: 'record has no valid id' } : { kind: 'record', id };
}

/** The record to publish for a policy with this id. */
export function renderMtaStsRecord(id: string): string {
  return `${VERSION}; id=${id};`;
}
