// The import rules of the tree (docs/architecture/import-rules.md): no import cycles, and the
// layers that keep protocol free of I/O and the packages free of the services. Each failure
// names the file, the line and the import.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImportGraph,
  findCycles,
  formatCycle,
  formatViolation,
  type ImportEdge,
  type ImportGraph,
  type ImportKind,
  type LayerRule,
  layerViolations,
} from './support/import-graph.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['packages', 'services', 'test', 'bench', 'scripts'];

/**
 * Type-only imports count: a cycle made only of `import type` does not fail at run time, but
 * the two modules still cannot be understood or moved apart, which is what the rule is for.
 * So do dynamic `import()`s.
 */
const CYCLE_KINDS: readonly ImportKind[] = ['value', 'type', 'dynamic'];

/**
 * Cycles tolerated for now, each as the exact set of files of its strongly connected
 * component. The IMAP one is removed by issue 16's command table (part "imap"); once that
 * is merged, this entry fails as "no longer a cycle" and the list must be emptied, which
 * makes the check strict: an empty list tolerates nothing.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

const under =
  (...dirs: string[]) =>
  (file: string) =>
    dirs.some((d) => file.startsWith(d));
const into =
  (...dirs: string[]) =>
  (edge: ImportEdge) =>
    edge.to !== undefined && dirs.some((d) => edge.to!.startsWith(d));
/** Test files and their support modules (`x.test.ts`, `test-x.ts`), which may reach further. */
const isTestCode = (file: string) => /\.test\.ts$|(^|\/)test-[^/]+\.ts$/.test(file);

/** Network and infrastructure clients: the I/O protocol must leave to the services. */
const IO_MODULES =
  /^(node:)?(net|tls|dgram|dns|http|https|http2|child_process|cluster)$|^(pg|pg-.+|nats|@nats-io\/.+|ioredis|redis)$/;

const PROTOCOL = 'packages/protocol/src/';
const LAYER_RULES: readonly LayerRule[] = [
  {
    name: 'mime is below the protocol engines: it parses messages for all of them and imports none (imap, pop3, smtp, sasl)',
    from: under(`${PROTOCOL}mime/`),
    forbids: into(`${PROTOCOL}imap/`, `${PROTOCOL}pop3/`, `${PROTOCOL}smtp/`, `${PROTOCOL}sasl/`),
  },
  {
    name: 'the protocol engines do not import each other: what two of them share goes below them (mime, sasl, …)',
    from: (f) => /^packages\/protocol\/src\/(imap|pop3|smtp)\//.test(f),
    forbids: (e) => {
      const from = /^packages\/protocol\/src\/(imap|pop3|smtp)\//.exec(e.from)?.[1];
      const to = e.to && /^packages\/protocol\/src\/(imap|pop3|smtp)\//.exec(e.to)?.[1];
      return to !== undefined && to !== null && to !== from;
    },
  },
  {
    name: 'protocol does no I/O: no sockets, DNS, processes, Postgres, NATS or Redis clients',
    from: under(PROTOCOL),
    forbids: (e) => e.to === undefined && IO_MODULES.test(e.specifier),
  },
  {
    name: 'protocol is the bottom package: its code imports no other workspace package (its tests may use packages/testing)',
    from: (f) => f.startsWith(PROTOCOL) && !isTestCode(f),
    forbids: (e) => e.to !== undefined && !e.to.startsWith('packages/protocol/'),
  },
  {
    name: 'packages never import services: services are built from packages, not the other way',
    from: under('packages/'),
    forbids: into('services/'),
  },
];

/** The workspace package (or service) a file belongs to: `packages/store`, `services/pop-gateway`. */
const packageOf = (file: string) => /^(packages|services)\/[^/]+/.exec(file)?.[0];

/**
 * Package → package edges of non-test code, as a graph of their own. Each edge keeps, in its
 * specifier, the file and line of one import that makes it, for the message.
 */
function packageGraph(graph: ImportGraph): ImportGraph {
  const edges = new Map<string, ImportEdge>();
  for (const edge of graph.edges) {
    const from = packageOf(edge.from);
    const to = edge.to && packageOf(edge.to);
    if (!from || !to || from === to || isTestCode(edge.from) || edges.has(`${from} ${to}`)) continue;
    edges.set(`${from} ${to}`, {
      ...edge,
      from,
      to,
      specifier: `${edge.specifier}' at '${edge.from}:${edge.line}`,
    });
  }
  const names = new Set([...edges.values()].flatMap((e) => [e.from, e.to!]));
  return { files: [...names].sort(), edges: [...edges.values()] };
}

describe('the import rules of the tree', () => {
  let graph: ImportGraph;
  beforeAll(() => {
    graph = buildImportGraph(ROOT, SCANNED);
  }, 120_000);

  it('reads the whole tree and resolves every relative and workspace import to a file', () => {
    expect(graph.files.length).toBeGreaterThan(300);
    const unresolved = graph.edges.filter((e) => e.to === undefined && /^(\.|@tegami\/)/.test(e.specifier));
    expect(unresolved.map((e) => `${e.from}:${e.line} '${e.specifier}'`)).toEqual([]);
    // A workspace import is an edge into the package's source (the "tegami-source" condition).
    expect(graph.edges).toContainEqual(
      expect.objectContaining({
        from: 'packages/store/src/mailboxes.ts',
        to: 'packages/protocol/src/index.ts',
      }),
    );
  });

  it('has no import cycles (beyond the known ones listed in KNOWN_CYCLES, which must still exist)', () => {
    const cycles = findCycles(graph, CYCLE_KINDS);
    const key = (files: readonly string[]) => [...files].sort().join('\n');
    const known = new Set(KNOWN_CYCLES.map(key));
    const found = new Set(cycles.map((c) => key(c.files)));
    const problems = [
      ...cycles
        .filter((c) => !known.has(key(c.files)))
        .map((c) => `import cycle through ${c.files.length} files:\n    ${formatCycle(c)}`),
      ...KNOWN_CYCLES.filter((k) => !found.has(key(k))).map(
        (k) => `no longer a cycle, remove it from KNOWN_CYCLES in test/import-rules.test.ts: ${k.join(', ')}`,
      ),
    ];
    expect(problems, problems.join('\n\n')).toEqual([]);
  });

  it('keeps the layers: mime below the engines, protocol without I/O, packages without services', () => {
    const violations = layerViolations(graph, LAYER_RULES).map(formatViolation);
    expect(violations, violations.join('\n')).toEqual([]);
  });

  it('has workspace packages that depend on each other in one direction (their non-test code)', () => {
    const cycles = findCycles(packageGraph(graph), CYCLE_KINDS).map(
      (c) => `package cycle ${c.files.join(' ↔ ')}:\n    ${formatCycle(c)}`,
    );
    expect(cycles, cycles.join('\n\n')).toEqual([]);
  });
});

describe('the import-graph check itself, on a tiny tree', () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tegami-import-graph-'));
    write('package.json', '{ "type": "module" }\n');
    // a → b → c → a: a value import, a type-only import, a re-export.
    write('src/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
    write('src/b.ts', "import type { C } from './c.js';\nexport const b = (c: C) => c;\n");
    write('src/c.ts', "export * from './a.js';\nexport type C = number;\n");
    // d → a, outside the cycle; e ↔ f only through a dynamic import.
    write(
      'src/d.ts',
      "import { a } from './a.js';\nimport net from 'node:net';\nexport const d = [a, net];\n",
    );
    write('src/e.ts', "export const e = () => import('./f.js');\n");
    write('src/f.ts', "import { e } from './e.js';\nexport const f = e;\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves ./x.js to x.ts and tells value, type and dynamic imports apart', () => {
    const graph = buildImportGraph(dir, ['src']);
    expect(graph.files).toEqual(['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/d.ts', 'src/e.ts', 'src/f.ts']);
    const kinds = graph.edges.map((e) => `${e.from} ${e.kind} ${e.to ?? e.specifier}`);
    expect(kinds).toEqual([
      'src/a.ts value src/b.ts',
      'src/b.ts type src/c.ts',
      'src/c.ts value src/a.ts',
      'src/d.ts value src/a.ts',
      'src/d.ts value node:net',
      'src/e.ts dynamic src/f.ts',
      'src/f.ts value src/e.ts',
    ]);
  });

  it('finds the cycle, names its files and one loop through them with the lines of the imports', () => {
    const graph = buildImportGraph(dir, ['src']);
    const cycles = findCycles(graph, ['value', 'type', 'dynamic']);
    expect(cycles.map((c) => c.files)).toEqual([
      ['src/a.ts', 'src/b.ts', 'src/c.ts'],
      ['src/e.ts', 'src/f.ts'],
    ]);
    expect(formatCycle(cycles[0]!)).toBe(
      [
        "src/a.ts:1 (value import './b.js')",
        "    → src/b.ts:1 (type import './c.js')",
        "    → src/c.ts:1 (value import './a.js')",
        '    → src/a.ts',
      ].join('\n'),
    );
  });

  it('counts only the kinds of import it is asked to', () => {
    const graph = buildImportGraph(dir, ['src']);
    expect(findCycles(graph, ['value'])).toEqual([]);
    expect(findCycles(graph, ['value', 'type']).map((c) => c.files)).toEqual([
      ['src/a.ts', 'src/b.ts', 'src/c.ts'],
    ]);
  });

  it('reports a layer violation with the file, the line and the import', () => {
    const graph = buildImportGraph(dir, ['src']);
    const rules: LayerRule[] = [
      { name: 'no sockets', from: (f) => f.startsWith('src/'), forbids: (e) => IO_MODULES.test(e.specifier) },
    ];
    expect(layerViolations(graph, rules).map(formatViolation)).toEqual([
      "src/d.ts:2 imports 'node:net': no sockets",
    ]);
  });

  it('finds a cycle of two packages, as the tree check builds it', () => {
    const graph: ImportGraph = {
      files: ['packages/x/src/a.ts', 'packages/y/src/b.ts'],
      edges: [
        {
          from: 'packages/x/src/a.ts',
          to: 'packages/y/src/b.ts',
          specifier: '@tegami/y',
          kind: 'value',
          line: 1,
        },
        {
          from: 'packages/y/src/b.ts',
          to: 'packages/x/src/a.ts',
          specifier: '@tegami/x',
          kind: 'type',
          line: 3,
        },
        // A test file does not make a package edge.
        {
          from: 'packages/y/src/b.test.ts',
          to: 'packages/x/src/a.ts',
          specifier: '@tegami/x',
          kind: 'value',
          line: 1,
        },
      ],
    };
    const [cycle, ...more] = findCycles(packageGraph(graph), CYCLE_KINDS);
    expect(more).toEqual([]);
    expect(cycle?.files).toEqual(['packages/x', 'packages/y']);
    expect(formatCycle(cycle!)).toContain(
      "packages/y:3 (type import '@tegami/x' at 'packages/y/src/b.ts:3')",
    );
  });
});
