/**
 * The two SCRAM client messages (RFC 5802 §7), parsed strictly: attributes in their fixed
 * order, saslnames with only `=2C` and `=3D` escapes, nonces of printable characters.
 */
import { malformed, prepareUsername, type SaslFailure } from './sasl-step.js';

export interface ClientFirstMessage {
  /** `n,,`, `y,,` or with `a=…`: echoed, base64-encoded, in the client-final `c=`. */
  readonly gs2Header: string;
  readonly authzid: string;
  readonly username: string;
  readonly clientNonce: string;
  /** client-first-message-bare, the first part of the AuthMessage. */
  readonly bare: string;
}

export interface ClientFinalMessage {
  readonly channelBinding: Buffer;
  readonly nonce: string;
  readonly proof: Buffer;
  /** client-final-message-without-proof, the last part of the AuthMessage. */
  readonly withoutProof: string;
}

// printable = %x21-2B / %x2D-7E: visible ASCII but ",".
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// attr-val = ALPHA "=" value; value-char excludes "," so splitting on commas is exact.
const EXTENSION = /^[A-Za-z]=/;

/** An e= server-error-value (§7), for the failure's finalData. */
export function serverError(value: string): Buffer {
  return Buffer.from(`e=${value}`);
}

export function parseClientFirst(text: string): ClientFirstMessage | SaslFailure {
  const parts = text.split(',');
  const [flag, authzidAttr, ...bareParts] = parts;
  if (flag === undefined || authzidAttr === undefined || bareParts.length < 2) {
    return malformed('SCRAM client-first-message is incomplete');
  }
  // §6: "p=" asks for channel binding, which only the -PLUS variant offers; "y" means the
  // client could bind but thinks we cannot, which is true, so it is accepted like "n".
  if (flag.startsWith('p=')) return malformed('channel binding is not offered (no SCRAM-SHA-256-PLUS)');
  if (flag !== 'n' && flag !== 'y') return malformed('SCRAM gs2-cbind-flag must be n, y or p=');
  let authzid = '';
  if (authzidAttr !== '') {
    const decoded = authzidAttr.startsWith('a=') ? decodeSaslname(authzidAttr.slice(2)) : undefined;
    if (decoded === undefined) return malformed('SCRAM authzid must be a=saslname');
    authzid = decoded;
  }
  // §5.1 m: reserved for mandatory extensions, none of which exist: its presence fails.
  if (bareParts[0]!.startsWith('m=')) {
    return malformed('SCRAM mandatory extensions are not supported', serverError('extensions-not-supported'));
  }
  const [userAttr, nonceAttr, ...extensions] = bareParts as [string, string, ...string[]];
  // §5.1 n: "=" must start =2C or =3D, else the server MUST fail; then SASLprep.
  const decodedUser = userAttr.startsWith('n=') ? decodeSaslname(userAttr.slice(2)) : undefined;
  const username = decodedUser === undefined ? undefined : prepareUsername(decodedUser);
  if (username === undefined) return malformed('SCRAM username must be n=saslname');
  if (!nonceAttr.startsWith('r=') || !NONCE.test(nonceAttr.slice(2))) {
    return malformed('SCRAM client nonce must be r= printable characters');
  }
  if (!extensions.every((attribute) => EXTENSION.test(attribute))) return malformed('bad SCRAM extension');
  return {
    gs2Header: `${flag},${authzidAttr},`,
    authzid,
    username,
    clientNonce: nonceAttr.slice(2),
    bare: bareParts.join(','),
  };
}

export function parseClientFinal(text: string): ClientFinalMessage | SaslFailure {
  const parts = text.split(',');
  const [binding, nonce] = parts;
  const proof = parts[parts.length - 1]!;
  const extensions = parts.slice(2, -1);
  if (
    parts.length < 3 ||
    !binding?.startsWith('c=') ||
    !BASE64.test(binding.slice(2)) ||
    !nonce?.startsWith('r=') ||
    !proof.startsWith('p=') ||
    !BASE64.test(proof.slice(2)) ||
    !extensions.every((attribute) => EXTENSION.test(attribute))
  ) {
    return malformed('SCRAM client-final-message must be c=…,r=…,p=…', serverError('invalid-encoding'));
  }
  return {
    channelBinding: Buffer.from(binding.slice(2), 'base64'),
    nonce: nonce.slice(2),
    proof: Buffer.from(proof.slice(2), 'base64'),
    withoutProof: parts.slice(0, -1).join(','),
  };
}

/** saslname (§7): `,` is sent as `=2C` and `=` as `=3D`; any other `=` is an error. */
function decodeSaslname(value: string): string | undefined {
  if (!/^(?:[^=,]|=2C|=3D)+$/.test(value)) return undefined;
  return value.replace(/=2C|=3D/g, (escaped) => (escaped === '=2C' ? ',' : '='));
}
