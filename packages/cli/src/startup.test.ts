import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** The modules `import … from` (not `import type`) brings in when main.ts starts, transitively within the CLI. */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  const external = new Set<string>();
  if (seen.has(file)) return external;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const [, specifier] of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)) {
    if (specifier!.startsWith('.')) {
      for (const name of staticImports(join(dirname(file), specifier!.replace(/\.js$/, '.ts')), seen)) {
        external.add(name);
      }
    } else {
      external.add(specifier!);
    }
  }
  return external;
}

describe('what every tegami call loads', () => {
  it('leaves the store, Postgres, NATS and the services runtime to the commands that use them', () => {
    const loaded = [...staticImports(join(SRC, 'main.ts'))].sort();
    expect(loaded).toEqual(['@tegami/runtime/config']);
  });
});
