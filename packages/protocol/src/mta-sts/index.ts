export * from './policy.js';
export * from './record.js';
