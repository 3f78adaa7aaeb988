import type { CommandGroup } from '../command.js';
import { printTable } from '../table.js';

// The admin API's bearer tokens (packages/admin). Only a SHA-256 of a token is stored, so
// `create` is the one time it can be seen.

const when = (date: Date | null) => (date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

export const adminCommands: CommandGroup = {
  title: 'Admin API tokens',
  word: 'admin',
  description: `Tokens for the admin REST API and web console (the delivery-worker's or the
standalone's admin port, TEGAMI_ADMIN_PORT). A full token may change everything the API
offers; a read-only one may only look. Send one as \`Authorization: Bearer <token>\`.`,
  commands: [
    {
      name: 'admin token create',
      usage: ['<name> [--read-only]'],
      summary: 'make an admin API token and print it (the only time it is shown)',
      description: `Makes a token named <name> (letters, digits and . _ @ -; the name shows in the audit
log) and prints it once: only its SHA-256 is stored. With --read-only it may only read (GET);
every write it tries is refused with 403 and audited.`,
      options: { '--read-only': 'the token may read, not change anything' },
      examples: ['tegami admin token create ops-console', 'tegami admin token create grafana --read-only'],
      run: async (args, ctx) => {
        const { createAdminToken } = await import('@tegami/store');
        const scope = args.has('--read-only') ? 'read' : 'full';
        const { token, record } = await createAdminToken((await ctx.store()).pool, args.one('name'), scope);
        ctx.print(token);
        ctx.warn(
          `tegami: created the ${scope === 'full' ? 'full' : 'read-only'} admin token ${record.name}: keep it now, it cannot be shown again`,
        );
        return 0;
      },
    },
    {
      name: 'admin token list',
      usage: ['[--json]'],
      summary: 'admin API tokens: scope, created, last used, revoked',
      description: `Lists the admin API tokens (never the tokens themselves): scope, when each was made,
last used (to the minute) and revoked. --json prints them as one JSON array, for scripts.`,
      options: { '--json': 'one JSON array instead of the table' },
      examples: ['tegami admin token list', 'tegami admin token list --json'],
      run: async (args, ctx) => {
        const { listAdminTokens } = await import('@tegami/store');
        const tokens = await listAdminTokens((await ctx.store()).pool);
        if (args.has('--json')) {
          ctx.print(JSON.stringify(tokens.map(({ id: _id, ...token }) => token)));
          return 0;
        }
        printTable(
          ctx.print,
          ['NAME', 'SCOPE', 'CREATED', 'LAST USED', 'REVOKED'],
          tokens.map((t) => [t.name, t.scope, when(t.createdAt), when(t.lastUsedAt), when(t.revokedAt)]),
        );
        return 0;
      },
    },
    {
      name: 'admin token revoke',
      usage: ['<name>'],
      summary: 'revoke an admin API token (from its next request on)',
      description: `Revokes the token: its next request is answered 401. The name stays taken, so the
audit log keeps meaning one token.`,
      examples: ['tegami admin token revoke ops-console'],
      run: async (args, ctx) => {
        const { revokeAdminToken } = await import('@tegami/store');
        const token = await revokeAdminToken((await ctx.store()).pool, args.one('name'));
        ctx.print(`revoked the admin token ${token.name}`);
        return 0;
      },
    },
  ],
};
