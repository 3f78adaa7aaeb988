import { readFileSync } from 'node:fs';
import { VARIABLES } from '@tegami/runtime';
import { describe, expect, it } from 'vitest';
import { withConfigTable } from '../scripts/update-readme-config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has the configuration table of every variable the code reads (pnpm docs:config)', () => {
    expect(readme).toBe(withConfigTable(readme));
    for (const variable of VARIABLES) expect(readme).toContain(`\`${variable.name}\``);
  });

  it('gives the two commands: run and test', () => {
    expect(readme).toContain('pnpm install && pnpm start');
    expect(readme).toContain('pnpm install --frozen-lockfile && pnpm test');
  });
});
