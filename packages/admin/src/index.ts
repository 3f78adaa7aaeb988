export * from './admin-server.js';
export * from './errors.js';
export * from './openapi.js';
export * from './rate-limit.js';
export { ADMIN_ROUTES, type AdminRoute, API_PREFIX } from './routes/index.js';
export * from './settings.js';
