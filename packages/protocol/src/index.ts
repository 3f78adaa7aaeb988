export * from './address/mailbox-address.js';
export * from './sasl/md5-state.js';
export * from './sasl/password-secrets.js';
export * from './sasl/saslprep.js';
export * from './smtp/reply.js';
