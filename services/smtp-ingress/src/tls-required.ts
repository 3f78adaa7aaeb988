import { fieldName, fieldValue, findHeaderEnd, splitFields } from './header-fields.js';

/**
 * The sender's "TLS-Required: No" (RFC 8689 §3): deliver even where the recipient domain's
 * MTA-STS or DANE policy cannot be met. `requiretls-field = "TLS-Required:" [FWS] "No" CRLF`
 * (ABNF literals match in any case). §3 allows one such field: a header with two is
 * malformed and the request is not honoured, since honouring it weakens delivery security.
 * A message that came with REQUIRETLS ignores the field (§4.1); the caller sees to that.
 */
export function saysTlsRequiredNo(message: Buffer): boolean {
  const header = message.subarray(0, findHeaderEnd(message)).toString('latin1');
  const fields = splitFields(header).filter((field) => fieldName(field) === 'tls-required');
  return fields.length === 1 && fieldValue(fields[0]!).toLowerCase() === 'no';
}
