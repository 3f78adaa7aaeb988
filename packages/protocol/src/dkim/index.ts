export * from './authserv-id.js';
export * from './key-pair.js';
export * from './key-record.js';
