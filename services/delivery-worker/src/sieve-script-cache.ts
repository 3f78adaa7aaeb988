import { type CompiledSieve, compileSieve, SieveError } from '@tegami/protocol';
import type { StoredSieveScript } from '@tegami/store';

// Compiled Sieve scripts, kept between deliveries: a user's script is parsed and checked once
// per version, not once per message. The key is the script and its updated_at, plus the
// version of everything `include` (RFC 6609) could name, since an included script may change
// without the including one changing. Bounded, least recently used first out.

/** Reads the scripts `include` names: the account's own, and the global ones. */
export type IncludeLoader = (names: {
  readonly personal: readonly string[];
  readonly global: readonly string[];
}) => Promise<{ personal: ReadonlyMap<string, string>; global: ReadonlyMap<string, string> }>;

/** A compiled script, or why it cannot run (its error, reported to its owner). */
export type CompiledScript =
  | { readonly kind: 'compiled'; readonly script: CompiledSieve }
  | { readonly kind: 'error'; readonly error: SieveError };

// Deeper than Pigeonhole's default include nesting (10): a fresh load per level at most.
const MAX_INCLUDE_ROUNDS = 12;

export class SieveScriptCache {
  private readonly entries = new Map<string, Promise<CompiledScript>>();

  constructor(private readonly maxEntries = 2_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** The script compiled, from the cache when this version was compiled before. */
  compiled(
    script: StoredSieveScript,
    includeVersion: string,
    loadIncludes: IncludeLoader,
  ): Promise<CompiledScript> {
    const key = `${script.key}\u0000${script.version}\u0000${includeVersion}`;
    const cached = this.entries.get(key);
    if (cached) {
      // Most recently used last: Map keeps insertion order, so the first key is the oldest.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const compiling = compileWithIncludes(script.content, loadIncludes);
    this.entries.set(key, compiling);
    // A store failure is not a property of the script: compile again next time.
    compiling.catch(() => this.entries.delete(key));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return compiling;
  }
}

/**
 * compileSieve with `include` answered from the store. compileSieve asks synchronously, so
 * it runs with what is loaded, notes the names it asked for that are not, and runs again
 * once they are (a nested include asks for more only when its parent is there).
 */
export async function compileWithIncludes(
  source: string,
  loadIncludes: IncludeLoader,
): Promise<CompiledScript> {
  const loaded = { personal: new Map<string, string | null>(), global: new Map<string, string | null>() };
  for (let round = 0; ; round++) {
    const wanted = { personal: new Set<string>(), global: new Set<string>() };
    let result: CompiledScript;
    try {
      const script = compileSieve(source, {
        include: (location, name) => {
          const known = loaded[location];
          if (!known.has(name)) {
            wanted[location].add(name);
            return null;
          }
          return known.get(name) ?? null;
        },
      });
      result = { kind: 'compiled', script };
    } catch (err) {
      if (!(err instanceof SieveError)) throw err;
      result = { kind: 'error', error: err };
    }
    if ((wanted.personal.size === 0 && wanted.global.size === 0) || round >= MAX_INCLUDE_ROUNDS)
      return result;
    const found = await loadIncludes({ personal: [...wanted.personal], global: [...wanted.global] });
    for (const location of ['personal', 'global'] as const) {
      for (const name of wanted[location]) loaded[location].set(name, found[location].get(name) ?? null);
    }
  }
}
