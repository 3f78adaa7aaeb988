import { AUTHORIZATION, err, noArguments, pop3Command } from './context.js';

/**
 * APOP (RFC 1939 §7) needs the password kept as MD5-able plaintext; the store keeps only
 * verifiers, so the client is pointed at the SASL mechanisms that do the same job.
 */
export const apop = pop3Command({
  verb: 'APOP',
  states: AUTHORIZATION,
  parse: noArguments,
  handle: () => err('APOP is not supported: use AUTH CRAM-MD5 or SCRAM-SHA-256'),
});
