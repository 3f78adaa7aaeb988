import { parseMailboxAddress } from '@tegami/protocol/address';
import {
  type AccountUsage,
  createAccount,
  listAccountUsage,
  removeAccount,
  StoreError,
  setAccountDisabled,
  setPassword,
  setQuota,
} from '@tegami/store';
import type pg from 'pg';
import type { AdminRoute } from './route.js';
import { address, arrayOf, bytes, domainName, iso, object, timestamp } from './schemas.js';

const user = object({
  address: { type: 'string' },
  domain: { type: 'string' },
  disabled: { type: 'boolean' },
  quotaBytes: { type: ['integer', 'null'], minimum: 0 },
  usedBytes: bytes,
  messages: { type: 'integer', minimum: 0 },
  createdAt: timestamp,
});

/** A password as the API takes it; the store checks the rest (what checkPassword refuses). */
const password: Readonly<Record<string, unknown>> = { type: 'string', minLength: 1, maxLength: 1024 };
const quotaBytes = { type: ['integer', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

function userOut(u: AccountUsage) {
  return {
    address: u.address,
    domain: u.domain,
    disabled: u.disabled,
    quotaBytes: u.quotaBytes,
    usedBytes: u.usedBytes,
    messages: u.messages,
    createdAt: iso(u.createdAt),
  };
}

/** One user with its usage; not_found for an unknown (or malformed) address. */
export async function findUser(pool: pg.Pool, input: string): Promise<AccountUsage> {
  const parsed = parseMailboxAddress(input);
  const found = parsed.ok
    ? (await listAccountUsage(pool, parsed.address.domain)).find(
        (u) => u.address === parsed.address.canonical,
      )
    : undefined;
  if (!found) throw new StoreError('not_found', `no user ${input.toLowerCase()}`);
  return found;
}

const addressParams = object({ address });

export const userRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/users',
    operationId: 'listUsers',
    summary: 'Users (of one domain, or all) with their stored mail and quota',
    tag: 'users',
    write: false,
    query: object({ domain: domainName }, []),
    success: { status: 200, schema: object({ users: arrayOf(user) }) },
    handle: async (ctx, req) => {
      const domain = (req.query.domain as string | undefined)?.toLowerCase();
      return { body: { users: (await listAccountUsage(ctx.pool, domain)).map(userOut) } };
    },
  },
  {
    method: 'POST',
    path: '/users',
    operationId: 'addUser',
    summary: 'Create a user with the standard mailboxes (INBOX, Sent, Drafts, Trash, Junk, Archive)',
    description: "The domain's first user also becomes its postmaster (an alias postmaster@domain).",
    tag: 'users',
    write: true,
    body: object({ address, password, quotaBytes }, ['address', 'password']),
    success: { status: 201, schema: user },
    errors: [404, 409],
    target: (req) => (req.body as { address: string }).address.toLowerCase(),
    handle: async (ctx, req) => {
      const body = req.body as { address: string; password: string; quotaBytes?: number | null };
      const account = await createAccount(ctx.pool, body.address, body.password, ctx.legacySasl);
      if (body.quotaBytes !== undefined && body.quotaBytes !== null)
        await setQuota(ctx.pool, account.address, body.quotaBytes);
      return {
        status: 201,
        body: userOut(await findUser(ctx.pool, account.address)),
        detail: { quotaBytes: body.quotaBytes ?? null, postmaster: account.postmaster },
      };
    },
  },
  {
    method: 'GET',
    path: '/users/{address}',
    operationId: 'getUser',
    summary: 'One user with its stored mail and quota',
    tag: 'users',
    write: false,
    params: addressParams,
    success: { status: 200, schema: user },
    errors: [404],
    handle: async (ctx, req) => ({ body: userOut(await findUser(ctx.pool, req.params.address!)) }),
  },
  {
    method: 'PUT',
    path: '/users/{address}/password',
    operationId: 'setUserPassword',
    summary: "Set a user's password (and the secrets each login mechanism needs)",
    tag: 'users',
    write: true,
    params: addressParams,
    body: object({ password }),
    success: { status: 200, schema: user },
    errors: [404],
    handle: async (ctx, req) => {
      await setPassword(
        ctx.pool,
        req.params.address!,
        (req.body as { password: string }).password,
        ctx.legacySasl,
      );
      return { body: userOut(await findUser(ctx.pool, req.params.address!)) };
    },
  },
  {
    method: 'PUT',
    path: '/users/{address}/quota',
    operationId: 'setUserQuota',
    summary: "Limit the bytes a user's mailboxes may hold together (null: no limit)",
    tag: 'users',
    write: true,
    params: addressParams,
    body: object({ quotaBytes }),
    success: { status: 200, schema: user },
    errors: [404],
    handle: async (ctx, req) => {
      const quota = (req.body as { quotaBytes: number | null }).quotaBytes;
      await setQuota(ctx.pool, req.params.address!, quota);
      return { body: userOut(await findUser(ctx.pool, req.params.address!)), detail: { quotaBytes: quota } };
    },
  },
  {
    method: 'PUT',
    path: '/users/{address}/disabled',
    operationId: 'setUserDisabled',
    summary: 'Disable a user (no logins; mail is still delivered) or enable it again',
    tag: 'users',
    write: true,
    params: addressParams,
    body: object({ disabled: { type: 'boolean' } }),
    success: { status: 200, schema: user },
    errors: [404],
    handle: async (ctx, req) => {
      const { disabled } = req.body as { disabled: boolean };
      await setAccountDisabled(ctx.pool, req.params.address!, disabled);
      return { body: userOut(await findUser(ctx.pool, req.params.address!)), detail: { disabled } };
    },
  },
  {
    method: 'DELETE',
    path: '/users/{address}',
    operationId: 'removeUser',
    summary: 'Remove a user with all of their mail',
    description: `Deletes the mailboxes, every message in them and the stored bytes nothing else holds.
Refused (409) while an alias delivers to the user.`,
    tag: 'users',
    write: true,
    params: addressParams,
    success: {
      status: 200,
      schema: object({
        newPostmaster: { type: ['string', 'null'] },
        removed: object({ messages: { type: 'integer', minimum: 0 }, bytes }),
      }),
    },
    errors: [404, 409],
    handle: async (ctx, req) => {
      const { newPostmaster, mail } = await removeAccount(ctx.pool, req.params.address!);
      const removed = { messages: mail.messages, bytes: mail.bytes };
      return { body: { newPostmaster: newPostmaster ?? null, removed }, detail: removed };
    },
  },
];
