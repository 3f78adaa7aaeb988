import type { CommandGroup } from '../command.js';

export const setupCommands: CommandGroup = {
  title: 'Setup',
  commands: [
    {
      name: 'migrate',
      usage: [''],
      summary: 'apply database migrations',
      description: `Brings the database schema up to date. Safe to run any number of times, and from
several processes at once (one applies, the others wait and find it done). A deployment runs
it before the services start (the chart's migration Job).`,
      examples: ['DATABASE_URL=postgres://tegami@db:5432/tegami tegami migrate'],
      run: async (_args, ctx) => {
        const { migrate } = await import('@tegami/store');
        const result = await migrate((await ctx.store()).pool);
        ctx.print(
          result.applied.length === 0
            ? `schema is up to date (version ${result.version})`
            : `applied ${result.applied.map((v) => String(v).padStart(4, '0')).join(', ')}; schema is at version ${result.version}`,
        );
        return 0;
      },
    },
    {
      name: 'check',
      usage: [''],
      summary: 'check that Postgres (and NATS) answer and the schema is current',
      description: `Connects to each dependency and prints one line for each: Postgres (and whether
the schema is what this version expects) and, in a deployment (DATABASE_URL set), NATS.
Exits 1 when one of them fails: what to run first when a pod will not become ready.`,
      examples: ['tegami check'],
      run: async (_args, ctx) => {
        const { checkDependencies } = await import('../check.js');
        const results = await checkDependencies(
          { store: await ctx.store(), ...(ctx.nats ? { nats: ctx.nats } : {}) },
          ctx.describeError,
        );
        for (const result of results)
          ctx.print(`${result.name.padEnd(10)}${result.ok ? 'ok   ' : 'FAIL '}${result.detail}`);
        return results.every((result) => result.ok) ? 0 : 1;
      },
    },
  ],
};
