import { aliasRoutes } from './aliases.js';
import { dkimRoutes } from './dkim.js';
import { domainRoutes } from './domains.js';
import { auditRoute, statsRoute, whoamiRoute } from './overview.js';
import { queueRoutes } from './queue.js';
import type { AdminRoute } from './route.js';
import { sieveRoutes } from './sieve.js';
import { userRoutes } from './users.js';

export type { AdminContext, AdminRoute, JsonSchema, RouteAnswer, RouteRequest } from './route.js';
export { API_PREFIX } from './route.js';

/** Every route of /api/v1, in the order of the OpenAPI document. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  whoamiRoute,
  statsRoute,
  ...domainRoutes,
  ...userRoutes,
  ...aliasRoutes,
  ...dkimRoutes,
  ...sieveRoutes,
  ...queueRoutes,
  auditRoute,
];
