import { checkSieveScript, sieveScriptName } from '@tegami/protocol';
import {
  activateSieveScript,
  deleteSieveScript,
  findAccount,
  getSieveScript,
  listSieveScripts,
  putSieveScript,
  StoreError,
} from '@tegami/store';
import type pg from 'pg';
import { ApiError } from '../errors.js';
import type { AdminRoute, RouteRequest } from './route.js';
import { address, arrayOf, iso, object, okAnswer, timestamp } from './schemas.js';

// A user's Sieve scripts, as `tegami sieve` and ManageSieve keep them: compiled before they
// are stored, at most one active.

/** The compiler's limit, as `tegami sieve put` (the operator is not held to the user's limits). */
const MAX_SCRIPT_BYTES = 1024 * 1024;

async function accountIdOf(pool: pg.Pool, user: string): Promise<string> {
  const account = await findAccount(pool, user);
  if (!account) throw new StoreError('not_found', `no user ${user.toLowerCase()}`);
  return account.id;
}

/** A script name as ManageSieve takes it (RFC 5804 §1.6). */
function checkedName(name: string): string {
  const checked = sieveScriptName(Buffer.from(name, 'utf8'));
  if (!checked.ok) throw new ApiError(400, 'invalid', checked.problem);
  return checked.name;
}

const scriptName = { type: 'string', minLength: 1, maxLength: 1024 };
const summary = { name: { type: 'string' }, active: { type: 'boolean' }, updatedAt: timestamp };
const scriptParams = object({ address, name: scriptName });
const target = (req: RouteRequest) => `${req.params.address!.toLowerCase()}/${req.params.name}`;

export const sieveRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/users/{address}/sieve',
    operationId: 'listSieveScripts',
    summary: "A user's Sieve scripts, the active one marked",
    tag: 'sieve',
    write: false,
    params: object({ address }),
    success: { status: 200, schema: object({ scripts: arrayOf(object(summary)) }) },
    errors: [404],
    handle: async (ctx, req) => {
      const scripts = await listSieveScripts(ctx.pool, await accountIdOf(ctx.pool, req.params.address!));
      return { body: { scripts: scripts.map((s) => ({ ...s, updatedAt: iso(s.updatedAt) })) } };
    },
  },
  {
    method: 'GET',
    path: '/users/{address}/sieve/{name}',
    operationId: 'getSieveScript',
    summary: 'One Sieve script with its content',
    tag: 'sieve',
    write: false,
    params: scriptParams,
    success: { status: 200, schema: object({ ...summary, content: { type: 'string' } }) },
    errors: [404],
    handle: async (ctx, req) => {
      const { address: user, name } = req.params as { address: string; name: string };
      const script = await getSieveScript(ctx.pool, await accountIdOf(ctx.pool, user), name);
      if (!script) throw new StoreError('not_found', `${user.toLowerCase()} has no script ${name}`);
      return { body: { ...script, updatedAt: iso(script.updatedAt) } };
    },
  },
  {
    method: 'PUT',
    path: '/users/{address}/sieve/{name}',
    operationId: 'putSieveScript',
    summary: 'Store a Sieve script (compiled first), replacing one of that name',
    description: `A script that does not compile is refused (400, code sieve_compile_error) with the line
and column of the first error. An active script stays active; a new one is not activated.`,
    tag: 'sieve',
    write: true,
    params: scriptParams,
    body: object({ content: { type: 'string', maxLength: MAX_SCRIPT_BYTES } }),
    success: { status: 200, schema: object({ name: { type: 'string' }, created: { type: 'boolean' } }) },
    errors: [404],
    target,
    handle: async (ctx, req) => {
      const id = await accountIdOf(ctx.pool, req.params.address!);
      const name = checkedName(req.params.name!);
      const content = (req.body as { content: string }).content;
      const checked = await checkSieveScript(Buffer.from(content, 'utf8'), {
        maxScriptBytes: MAX_SCRIPT_BYTES,
      });
      if (!checked.ok) {
        const at = /line (\d+), column (\d+)/.exec(checked.problem);
        throw new ApiError(
          400,
          'sieve_compile_error',
          checked.problem,
          at ? { line: Number(at[1]), column: Number(at[2]) } : {},
        );
      }
      const stored = await putSieveScript(ctx.pool, id, name, checked.source, {
        maxScripts: Number.MAX_SAFE_INTEGER,
        maxBytes: MAX_SCRIPT_BYTES,
      });
      if (stored.kind !== 'stored')
        throw new ApiError(400, 'invalid', `the script is larger than ${MAX_SCRIPT_BYTES} bytes`);
      return { body: { name, created: stored.created }, detail: { created: stored.created } };
    },
  },
  {
    method: 'DELETE',
    path: '/users/{address}/sieve/{name}',
    operationId: 'deleteSieveScript',
    summary: 'Delete a Sieve script that is not the active one',
    tag: 'sieve',
    write: true,
    params: scriptParams,
    success: { status: 200, schema: okAnswer },
    errors: [404, 409],
    target,
    handle: async (ctx, req) => {
      const { address: user, name } = req.params as { address: string; name: string };
      const deleted = await deleteSieveScript(ctx.pool, await accountIdOf(ctx.pool, user), name);
      if (deleted === 'nonexistent')
        throw new StoreError('not_found', `${user.toLowerCase()} has no script ${name}`);
      if (deleted === 'active')
        throw new StoreError(
          'conflict',
          `${name} is the active script of ${user.toLowerCase()}: deactivate it first`,
        );
      return { body: { ok: true } };
    },
  },
  {
    method: 'PUT',
    path: '/users/{address}/sieve-active',
    operationId: 'activateSieveScript',
    summary: "Make one of a user's scripts the one that runs at delivery (null: none)",
    tag: 'sieve',
    write: true,
    params: object({ address }),
    body: object({ name: { type: ['string', 'null'], minLength: 1, maxLength: 1024 } }),
    success: { status: 200, schema: object({ active: { type: ['string', 'null'] } }) },
    errors: [404],
    handle: async (ctx, req) => {
      const user = req.params.address!;
      const { name } = req.body as { name: string | null };
      if ((await activateSieveScript(ctx.pool, await accountIdOf(ctx.pool, user), name)) === 'nonexistent')
        throw new StoreError('not_found', `${user.toLowerCase()} has no script ${name}`);
      return { body: { active: name }, detail: { active: name } };
    },
  },
];
