// Rewrites the README's configuration table from the one catalogue in packages/runtime
// (`pnpm docs:config`); test/readme.test.ts fails when the two disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable } from '@tegami/runtime';

const README = new URL('../README.md', import.meta.url);
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${renderConfigTable().trim()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(README, withConfigTable(readFileSync(README, 'utf8')));
}
