// The repository's import graph, built with the TypeScript compiler's own parser and module
// resolution (NodeNext with the "tegami-source" condition, as `pnpm typecheck` resolves):
// `./x.js` is the file `./x.ts`, `@tegami/store` is packages/store/src/index.ts. Biome's
// noImportCycles sees cycles inside one package only (it does not follow the workspace
// packages' export conditions), so the import rules are checked here instead
// (docs/architecture/import-rules.md).
import { readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * How a module is imported. `type`: `import type` / `export type … from` / `import('x').T`,
 * erased by the compiler. `value`: anything else that is static, including
 * `import { type A } from` (verbatimModuleSyntax keeps it as `import {} from`). `dynamic`:
 * `import('x')` as an expression, loaded when called.
 */
export type ImportKind = 'value' | 'type' | 'dynamic';

export interface ImportEdge {
  /** The importing file, relative to the root, with `/`. */
  readonly from: string;
  /** The imported file in the tree, relative to the root; undefined for a package outside it. */
  readonly to: string | undefined;
  /** As written: `./session.js`, `@tegami/store`, `pg`, `node:net`. */
  readonly specifier: string;
  readonly kind: ImportKind;
  /** 1-based line of the import in `from`. */
  readonly line: number;
}

export interface ImportGraph {
  readonly files: readonly string[];
  readonly edges: readonly ImportEdge[];
}

export interface ImportCycle {
  /** The strongly connected component: every file that is on some cycle with the others, sorted. */
  readonly files: readonly string[];
  /** One concrete loop through the component, edge by edge, ending where it starts. */
  readonly loop: readonly ImportEdge[];
}

/** The imports one file makes, read from its syntax alone (nothing is resolved here). */
export function importsOf(fileName: string, text: string): Omit<ImportEdge, 'from' | 'to'>[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Omit<ImportEdge, 'from' | 'to'>[] = [];
  const add = (literal: ts.Node, kind: ImportKind) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    found.push({ specifier: literal.text, kind, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ? 'type' : 'value');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly ? 'type' : 'value');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly ? 'type' : 'value');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, 'type');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [first] = node.arguments;
      if (first) add(first, 'dynamic');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  customConditions: ['tegami-source'],
  allowImportingTsExtensions: true,
  noEmit: true,
};

/**
 * Every .ts file under `dirs` (relative to `root`; node_modules and dist skipped) and the
 * imports each makes, resolved. A workspace package resolves through its symlink in
 * node_modules to its real place in the tree, so cross-package imports are edges too.
 */
export function buildImportGraph(root: string, dirs: readonly string[]): ImportGraph {
  const absRoot = resolve(root);
  const files = new Set<string>();
  for (const dir of dirs) {
    for (const file of ts.sys.readDirectory(
      join(absRoot, dir),
      ['.ts', '.mts', '.cts'],
      ['**/node_modules', '**/dist'],
    )) {
      files.add(resolve(file));
    }
  }
  const host: ts.ModuleResolutionHost = ts.sys;
  const cache = ts.createModuleResolutionCache(absRoot, (f) => f, COMPILER_OPTIONS);
  const rel = (abs: string) => relative(absRoot, abs).split(sep).join('/');
  const inTree = (abs: string) => !abs.includes(`${sep}node_modules${sep}`) && !rel(abs).startsWith('..');
  const edges: ImportEdge[] = [];
  for (const file of [...files].sort()) {
    const mode = file.endsWith('.cts') ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext;
    for (const found of importsOf(file, readFileSync(file, 'utf8'))) {
      const { resolvedModule } = ts.resolveModuleName(
        found.specifier,
        file,
        COMPILER_OPTIONS,
        host,
        cache,
        undefined,
        mode,
      );
      const target = resolvedModule ? resolve(resolvedModule.resolvedFileName) : undefined;
      edges.push({ ...found, from: rel(file), to: target && inTree(target) ? rel(target) : undefined });
    }
  }
  return { files: [...files].map(rel).sort(), edges };
}

/**
 * The import cycles of `graph` over the edges of the given kinds: each strongly connected
 * component of more than one file (Tarjan), with one loop through it to show. A file that
 * imports itself is not a cycle.
 */
export function findCycles(graph: ImportGraph, kinds: readonly ImportKind[]): ImportCycle[] {
  const out = new Map<string, ImportEdge[]>();
  for (const edge of graph.edges) {
    if (edge.to === undefined || edge.to === edge.from || !kinds.includes(edge.kind)) continue;
    const list = out.get(edge.from) ?? [];
    list.push(edge);
    out.set(edge.from, list);
  }
  const components = stronglyConnected(graph.files, (f) => (out.get(f) ?? []).map((e) => e.to!));
  return components
    .filter((c) => c.length > 1)
    .map((c) => {
      const files = [...c].sort();
      return { files, loop: loopThrough(files, out) };
    })
    .sort((a, b) => a.files[0]!.localeCompare(b.files[0]!));
}

function stronglyConnected(nodes: readonly string[], next: (n: string) => string[]): string[][] {
  // Tarjan's algorithm, iterative: an import chain can be deeper than the call stack likes.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; targets: string[]; i: number }[] = [];
    const open = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, targets: next(node), i: 0 });
    };
    open(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.targets.length) {
        const target = frame.targets[frame.i++]!;
        if (!index.has(target)) open(target);
        else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** The shortest loop from the component's first file back to itself (breadth first). */
function loopThrough(files: readonly string[], out: Map<string, ImportEdge[]>): ImportEdge[] {
  const members = new Set(files);
  const start = files[0]!;
  const via = new Map<string, ImportEdge>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const edge of out.get(node) ?? []) {
      if (!members.has(edge.to!)) continue;
      if (edge.to === start) {
        const loop = [edge];
        for (let at = node; at !== start; ) {
          const step = via.get(at)!;
          loop.unshift(step);
          at = step.from;
        }
        return loop;
      }
      if (!via.has(edge.to!)) {
        via.set(edge.to!, edge);
        queue.push(edge.to!);
      }
    }
  }
  return [];
}

/** `a.ts:3 → b.ts:7 → a.ts`, each step with the line of the import that makes it. */
export function formatCycle(cycle: ImportCycle): string {
  const steps = cycle.loop.map((e) => `${e.from}:${e.line} (${e.kind} import '${e.specifier}')`);
  return `${steps.join('\n    → ')}\n    → ${cycle.loop[0]?.from ?? ''}`;
}

/** A layering rule: files matched by `from` must not make imports matched by `forbids`. */
export interface LayerRule {
  readonly name: string;
  readonly from: (file: string) => boolean;
  readonly forbids: (edge: ImportEdge) => boolean;
}

export interface LayerViolation {
  readonly rule: string;
  readonly edge: ImportEdge;
}

export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[]): LayerViolation[] {
  const found: LayerViolation[] = [];
  for (const rule of rules) {
    for (const edge of graph.edges) {
      if (rule.from(edge.from) && rule.forbids(edge)) found.push({ rule: rule.name, edge });
    }
  }
  return found;
}

export function formatViolation({ rule, edge }: LayerViolation): string {
  return `${edge.from}:${edge.line} imports '${edge.specifier}'${edge.to ? ` (${edge.to})` : ''}: ${rule}`;
}
