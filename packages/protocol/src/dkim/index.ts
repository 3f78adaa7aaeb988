export * from './key-pair.js';
export * from './key-record.js';
