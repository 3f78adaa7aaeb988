// Sieve (RFC 5228 and its extensions): compile a script once, run it per message. Pure:
// the caller supplies the message, envelope, clock and lookups, and performs the actions.

export { SIEVE_EXTENSIONS } from './command-table.js';
export { compileSieve } from './compile-script.js';
export { runSieve } from './interpret.js';
export { buildMailtoNotification, validMailtoUri } from './mailto-notification.js';
export { decodeSieveSource, parseSieveScript } from './parse-script.js';
export { buildRejectMessage } from './reject-message.js';
export * from './types.js';
export { buildVacationMessage } from './vacation-reply.js';
