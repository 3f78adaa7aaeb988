import { type DetailedPeerCertificate, rootCertificates, type TLSSocket } from 'node:tls';
import type { PeerTls, TlsCheck, TlsResultType } from './tls-policy.js';

// What a policy judges about the TLS an MX host showed: the certificate chain as the peer sent
// it, and the WebPKI verdict Node reached against the trusted roots and the MX host name.

/** What the peer showed, read off the socket after the handshake. */
export function peerTlsOf(socket: TLSSocket): PeerTls {
  const error = socket.authorizationError as unknown;
  return {
    chain: flattenChain(socket.getPeerCertificate(true)),
    authorized: socket.authorized,
    authorizationError:
      error === undefined || error === null
        ? undefined
        : typeof error === 'string'
          ? error
          : ((error as Error).message ?? String(error)),
    protocol: socket.getProtocol(),
  };
}

/** Leaf first; stops at the self-issued root, which links to itself. */
function flattenChain(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert?.raw && !chain.includes(cert) && chain.length < 16) {
    chain.push(cert);
    cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
  }
  return chain;
}

/**
 * The WebPKI check (RFC 8461 §4.2, as for HTTPS): the chain ends in a trusted root, every
 * certificate is within its dates, and the leaf names the host we connected to (Node's
 * checkServerIdentity, RFC 6125: a wildcard stands for the leftmost label only). Node did the
 * work during the handshake; this turns its verdict into an RFC 8460 result type.
 */
export function webPkiCheck(peer: PeerTls): TlsCheck {
  if (peer.authorized) return { ok: true };
  const code = peer.authorizationError ?? 'unknown';
  return { ok: false, resultType: resultTypeOf(code), detail: `certificate not valid: ${code}` };
}

const NOT_TRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

function resultTypeOf(code: string): TlsResultType {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altname|hostname/i.test(code)) {
    return 'certificate-host-mismatch';
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return 'certificate-expired';
  if (NOT_TRUSTED.has(code)) return 'certificate-not-trusted';
  return 'validation-failure';
}

/**
 * The roots a WebPKI check trusts: Node's, plus the operator's own CA when given
 * (TEGAMI_DELIVERY_TLS_CA_FILE: a private deployment, or a test). Undefined: Node's default.
 */
export function trustedRoots(extraCa: string | undefined): string[] | undefined {
  return extraCa ? [...rootCertificates, extraCa] : undefined;
}
