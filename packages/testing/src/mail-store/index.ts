// The in-memory mail store (`@tegami/testing/memory-mail-store`): apart from the package's
// main entry, so the IMAP engine's unit tests load it without Postgres, NATS or DNS helpers.

export { MemoryAccount } from './memory-account.js';
export { MemoryMailStore, messageOf } from './memory-mail-store.js';
export { type MemoryMailbox, type MemoryMessage, normaliseFlags } from './memory-mailbox.js';
export { MemoryOpenMailbox } from './memory-open-mailbox.js';
export { MemoryDirectory } from './memory-sharing.js';
export { StoreRefusal } from './postgres-refusals.js';
