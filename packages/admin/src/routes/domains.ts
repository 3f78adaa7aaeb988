import { addDomain, type DomainDetails, listDomainDetails, removeDomain, StoreError } from '@tegami/store';
import type { AdminRoute } from './route.js';
import { arrayOf, count, domainName, iso, object, okAnswer, timestamp } from './schemas.js';

const domain = object({
  name: { type: 'string' },
  users: count,
  aliases: count,
  plusAddressing: { type: 'boolean' },
  createdAt: timestamp,
});

function domainOut(d: DomainDetails) {
  return { ...d, createdAt: iso(d.createdAt) };
}

export const domainRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/domains',
    operationId: 'listDomains',
    summary: 'The local mail domains, with their user and alias counts',
    tag: 'domains',
    write: false,
    success: { status: 200, schema: object({ domains: arrayOf(domain) }) },
    handle: async (ctx) => ({ body: { domains: (await listDomainDetails(ctx.pool)).map(domainOut) } }),
  },
  {
    method: 'POST',
    path: '/domains',
    operationId: 'addDomain',
    summary: 'Make a domain local: mail to it is delivered here',
    tag: 'domains',
    write: true,
    body: object({ name: domainName }),
    success: { status: 201, schema: domain },
    errors: [409],
    target: (req) => (req.body as { name: string }).name.toLowerCase(),
    handle: async (ctx, req) => {
      const { name } = await addDomain(ctx.pool, (req.body as { name: string }).name);
      const created = (await listDomainDetails(ctx.pool)).find((d) => d.name === name);
      if (!created) throw new StoreError('conflict', `domain ${name} was removed meanwhile`);
      return { status: 201, body: domainOut(created) };
    },
  },
  {
    method: 'DELETE',
    path: '/domains/{name}',
    operationId: 'removeDomain',
    summary: 'Remove a domain that has no users or aliases left',
    description: 'Refused (409) while the domain has users or aliases: remove them first.',
    tag: 'domains',
    write: true,
    params: object({ name: domainName }),
    success: { status: 200, schema: okAnswer },
    errors: [404, 409],
    handle: async (ctx, req) => {
      await removeDomain(ctx.pool, req.params.name!);
      return { body: { ok: true } };
    },
  },
];
