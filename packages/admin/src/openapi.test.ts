import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';
import { ADMIN_ROUTES, API_PREFIX } from './routes/index.js';

const document = openApiDocument();

/** Every `$ref` in the document, with where it is. */
function refsOf(value: unknown, at = '#'): Array<{ ref: string; at: string }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsOf(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refsOf(v, `${at}/${key}`),
  );
}

/** The value a local reference (`#/components/…`, RFC 6901 pointer) names, or undefined. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, token) =>
        node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined,
      root,
    );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route, each operation once', () => {
    const paths = document.paths as Record<string, Record<string, { operationId: string }>>;
    for (const route of ADMIN_ROUTES) {
      expect(paths[API_PREFIX + route.path]?.[route.method.toLowerCase()]?.operationId).toBe(
        route.operationId,
      );
    }
    const operations = Object.values(paths).flatMap((p) => Object.values(p));
    expect(operations).toHaveLength(ADMIN_ROUTES.length);
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(ADMIN_ROUTES.length);
  });

  it('has no $ref that does not resolve', () => {
    const refs = refsOf(document);
    expect(refs.length).toBeGreaterThan(0);
    const broken = refs.filter(({ ref }) => resolvePointer(document, ref) === undefined);
    expect(broken).toEqual([]);
  });

  it("states every write's 403 and every path parameter", () => {
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const route of ADMIN_ROUTES) {
      const operation = paths[API_PREFIX + route.path]![route.method.toLowerCase()]!;
      expect(Object.keys(operation.responses as object).includes('403')).toBe(route.write);
      const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters as Array<{ name: string; in: string }>)
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(declared).toEqual(inPath);
    }
  });

  it('holds schemas that compile as JSON Schema 2020-12, the dialect of OpenAPI 3.1', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const route of ADMIN_ROUTES) {
      for (const schema of [route.params, route.query, route.body, route.success.schema]) {
        if (schema) expect(() => ajv.compile(schema)).not.toThrow();
      }
    }
  });
});
