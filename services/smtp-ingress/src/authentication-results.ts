import { authservIdOf } from '@tegami/protocol';
import { editHeaderFields, fieldName, fieldValue } from './header-fields.js';
import type { MessageAuthentication } from './mail-authentication.js';

// Read in one pass (packages/protocol): a forged field of nested comments must cost no more than any other.
export { authservIdOf };

/**
 * The `Authentication-Results` field (RFC 8601) of our checks, one resinfo per line:
 * spf (MAIL FROM, then HELO), each DKIM signature, arc, dmarc. Folded at the semicolons,
 * so every line stays far below the 998-octet limit whatever the comments say.
 */
export function authenticationResultsField(authservId: string, auth: MessageAuthentication): string {
  const rows = [
    auth.spf.info,
    ...(auth.helo ? [auth.helo.info] : []),
    ...(auth.dkim.length > 0 ? auth.dkim.map((d) => d.info) : ['dkim=none (message not signed)']),
    auth.arc.info,
    ...(auth.dmarc ? [auth.dmarc.info] : []),
  ].map(oneLine);
  return `Authentication-Results: ${authservId};\r\n ${rows.join(';\r\n ')}\r\n`;
}

/**
 * `Received-SPF` (RFC 7208 §9.1) for the MAIL FROM identity, which some filters and older
 * clients read instead of Authentication-Results.
 */
export function receivedSpfField(auth: MessageAuthentication, client: { ip: string; helo: string }): string {
  const { spf } = auth;
  const helo = client.helo.replace(/[;"\\\s]/g, '');
  return `Received-SPF: ${spf.result} client-ip=${client.ip}; envelope-from="${spf.identity.replace(/["\\]/g, '')}"; helo=${helo || 'unknown'};\r\n`;
}

/**
 * RFC 8601 §5: an `Authentication-Results` field that claims our authserv-id and arrived
 * with the message is a forgery (we have not seen the message before): it is removed, so
 * that nothing downstream (a filter, a client) takes it for our verdict. Those of other
 * authserv-ids stay: they are other hosts' claims, and some are ARC-sealed.
 */
export function removeForgedAuthenticationResults(raw: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  return editHeaderFields(raw, (fields) =>
    fields.filter(
      (field) => fieldName(field) !== 'authentication-results' || authservIdOf(fieldValue(field)) !== ours,
    ),
  );
}

/** A resinfo as one line: CR, LF and tabs from mailauth's own folding become spaces. */
function oneLine(row: string): string {
  return row
    .replace(/\s*\r?\n\s*/g, ' ')
    .replace(/\t/g, ' ')
    .trim();
}
