// COMPRESS (RFC 4978): `COMPRESS DEFLATE` turns both directions of the connection into raw
// DEFLATE streams from the octet after the tagged OK on (the session's deflate-layer.ts
// does the work). Offered once logged in, as Dovecot does: before login the few octets
// exchanged do not pay for a compressor, and a client that logs in with TLS has no reason
// to compress its password. Once on, it stays on: a second COMPRESS is
// `NO [COMPRESSIONACTIVE]` (§3), UNAUTHENTICATE does not undo it.

import { bad, defineCommand, LOGGED_IN, no, ok } from './command-spec.js';

export const compress = defineCommand({
  name: 'COMPRESS',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['COMPRESS=DEFLATE'] }),
  parse(args) {
    const token = args.length === 1 ? args[0] : undefined;
    // The grammar's algorithm is an atom (§5); Dovecot refuses a quoted one too.
    if (token?.type !== 'atom') return bad('COMPRESS needs one compression mechanism');
    const mechanism = token.value;
    // RFC 4978 §3 keeps NO for compression already on; arguments it cannot take are BAD
    // (Dovecot answers NO here).
    return mechanism.toUpperCase() === 'DEFLATE'
      ? { mechanism: 'DEFLATE' as const }
      : bad('unknown compression mechanism');
  },
  async handle(_request, context) {
    if (context.compressed) return no('[COMPRESSIONACTIVE] DEFLATE is on already');
    return { kind: 'connection', reply: ok('DEFLATE active'), next: 'compress' };
  },
});
