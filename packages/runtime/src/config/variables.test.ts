import { describe, expect, it } from 'vitest';
import { describeDefault, renderConfigTable, VARIABLES, variablesFor } from './variables.js';

describe('the variable catalogue', () => {
  it('names each variable once, in the house style, with a reader and a description', () => {
    const names = VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of VARIABLES) {
      expect(v.name).toMatch(/^(DATABASE_URL|NATS_URL|TEGAMI_[A-Z0-9_]+)$/);
      expect(v.services.length).toBeGreaterThan(0);
      expect(v.description.length).toBeGreaterThan(10);
    }
  });

  it('renders a Markdown table with a row for every variable', () => {
    const table = renderConfigTable();
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toBe('| Variable | Default | Used by | Description |');
    expect(lines).toHaveLength(VARIABLES.length + 2);
    for (const v of VARIABLES) expect(table).toContain(`| \`${v.name}\` |`);
    expect(table).toContain('| `TEGAMI_OPS_HOST` | `0.0.0.0` (standalone: `127.0.0.1`) |');
    // A machine-dependent default is described, not computed on the machine that renders it.
    expect(table).toContain('| `TEGAMI_HOSTNAME` | the host name of the machine |');
    expect(table).toContain('| `DATABASE_URL` | — |');
  });

  it('escapes pipes so a description cannot break the table', () => {
    const table = renderConfigTable([{ name: 'TEGAMI_X', description: 'a | b', services: ['cli'] }]);
    expect(table).toContain('a \\| b');
  });

  it('lists the variables of one program', () => {
    const standalone = variablesFor('standalone').map((v) => v.name);
    expect(standalone).toContain('TEGAMI_DATA_DIR');
    expect(standalone).not.toContain('DATABASE_URL');
    expect(describeDefault(VARIABLES.find((v) => v.name === 'TEGAMI_OPS_PORT')!)).toBe('`8080`');
  });
});
