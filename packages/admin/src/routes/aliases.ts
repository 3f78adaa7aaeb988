import { addAlias, listAliases, removeAlias } from '@tegami/store';
import type { AdminRoute } from './route.js';
import { address, arrayOf, domainName, object, okAnswer } from './schemas.js';

const alias = object({
  address: { type: 'string' },
  destinations: arrayOf({ type: 'string' }),
  /** Destinations in a local domain that are neither a user nor an alias: mail to them bounces. */
  dangling: arrayOf({ type: 'string' }),
});

export const aliasRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/aliases',
    operationId: 'listAliases',
    summary: 'Aliases (of one domain, or all) with their destinations',
    description:
      'dangling lists the destinations in a local domain that are no user or alias: mail to them bounces.',
    tag: 'aliases',
    write: false,
    query: object({ domain: domainName }, []),
    success: { status: 200, schema: object({ aliases: arrayOf(alias) }) },
    handle: async (ctx, req) => {
      const domain = req.query.domain as string | undefined;
      const aliases = await listAliases(ctx.pool, domain?.toLowerCase());
      return {
        body: {
          aliases: aliases.map((a) => ({
            address: a.address,
            destinations: a.destinations,
            dangling: a.dangling,
          })),
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/aliases',
    operationId: 'addAlias',
    summary: 'Create an alias, or add destinations to one',
    description: `A destination in a local domain must be a user or an alias already; an address in
another domain is forwarded there.`,
    tag: 'aliases',
    write: true,
    body: object({
      address,
      destinations: { type: 'array', items: address, minItems: 1, maxItems: 1000 },
    }),
    success: {
      status: 201,
      schema: object({ address: { type: 'string' }, destinations: arrayOf({ type: 'string' }) }),
    },
    errors: [404, 409],
    target: (req) => (req.body as { address: string }).address.toLowerCase(),
    handle: async (ctx, req) => {
      const body = req.body as { address: string; destinations: string[] };
      const added = await addAlias(ctx.pool, body.address, body.destinations);
      return {
        status: 201,
        body: { address: added.address, destinations: added.destinations },
        detail: { destinations: body.destinations },
      };
    },
  },
  {
    method: 'DELETE',
    path: '/aliases/{address}',
    operationId: 'removeAlias',
    summary: 'Remove an alias with all its destinations',
    description: 'Refused (409) while other aliases deliver to it.',
    tag: 'aliases',
    write: true,
    params: object({ address }),
    success: { status: 200, schema: okAnswer },
    errors: [404, 409],
    handle: async (ctx, req) => {
      await removeAlias(ctx.pool, req.params.address!, []);
      return { body: { ok: true } };
    },
  },
];
