// What a short-lived program (the `tegami` CLI) needs to read its settings, without the
// rest of @tegami/runtime (fastify, pino, prom-client): `@tegami/runtime/config`.
export * from '../describe-error.js';
export * from './config-error.js';
export * from './exit.js';
export * from './legacy-sasl-settings.js';
export * from './mta-sts-settings.js';
export * from './read.js';
export * from './retention-settings.js';
export * from './variables.js';
