import type { JsonSchema } from './route.js';

// Building blocks of the route schemas. Times travel as ISO 8601 strings, sizes as numbers of
// bytes. A nullable field is `type: [T, 'null']`, OpenAPI 3.1's (JSON Schema's) way.

export const timestamp: JsonSchema = { type: 'string', format: 'date-time' };
export const nullableTimestamp: JsonSchema = { type: ['string', 'null'], format: 'date-time' };
export const count: JsonSchema = { type: 'integer', minimum: 0 };
export const bytes: JsonSchema = { type: 'integer', minimum: 0 };

/** An address as typed (the store checks it: RFC 5321 syntax, a local domain). */
export const address: JsonSchema = { type: 'string', minLength: 3, maxLength: 320 };
export const domainName: JsonSchema = { type: 'string', minLength: 1, maxLength: 253 };

export function object(
  properties: Record<string, JsonSchema>,
  required = Object.keys(properties),
): JsonSchema {
  return { type: 'object', additionalProperties: false, required, properties };
}

export function arrayOf(items: JsonSchema): JsonSchema {
  return { type: 'array', items };
}

/** Free-form JSON objects (a trace's verdict and Sieve actions), passed on as stored. */
export const anyObject: JsonSchema = { type: 'object', additionalProperties: true };

export const okAnswer: JsonSchema = object({ ok: { type: 'boolean', const: true } });

export function iso(date: Date): string;
export function iso(date: Date | null | undefined): string | null;
export function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}
