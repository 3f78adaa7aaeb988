import { ADMIN_ROUTES, type AdminRoute, API_PREFIX, type JsonSchema } from './routes/index.js';

// The OpenAPI 3.1 document of the API, generated from the routes' own JSON schemas (the ones
// fastify validates with): OpenAPI 3.1 uses JSON Schema 2020-12 as it is, so a schema goes in
// unchanged; only path parameters and query strings become `parameters`.

const ERROR_REF = { $ref: '#/components/schemas/Error' };

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad input (schema validation, or what the store refuses); nothing changed',
  401: 'No token, or an unknown or revoked one',
  403: 'A read-only token for a write; nothing changed (the refusal is audited)',
  404: 'No such domain, user, alias, script or queued message',
  409: 'Exists already, or refused while something depends on it',
  413: 'The body is larger than the server takes',
  429: 'Rate limit: wait the seconds of Retry-After',
};

export function openApiDocument(version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ADMIN_ROUTES) {
    const path = `${API_PREFIX}${route.path}`;
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tegami admin API',
      version,
      description:
        'Domains, users, aliases, DKIM keys, Sieve scripts and the queue of a Tegami installation. ' +
        'Every /api/v1 route needs `Authorization: Bearer <token>` (`tegami admin token create <name>`); ' +
        'a read-only token may only GET.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerToken: [] }],
    tags: [...new Set(ADMIN_ROUTES.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: 'tgm_ and 43 base64url characters' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: {
                  type: 'string',
                  description: 'machine-readable: invalid_request, not_found, exists…',
                },
                message: { type: 'string', description: 'what is wrong, for a person' },
                line: { type: 'integer', description: 'sieve_compile_error: where the script fails' },
                column: { type: 'integer' },
              },
            },
          },
        },
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
          `Error${status}`,
          { description, content: { 'application/json': { schema: ERROR_REF } } },
        ]),
      ),
    },
  };
}

function operation(route: AdminRoute): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    [String(route.success.status)]: {
      description: route.success.status === 201 ? 'Created' : 'OK',
      content: { 'application/json': { schema: route.success.schema } },
    },
  };
  const statuses = [
    400,
    401,
    ...(route.write ? [403] : []),
    ...(route.errors ?? []),
    ...(route.body ? [413] : []),
    429,
  ];
  for (const status of [...new Set(statuses)].sort()) {
    responses[String(status)] = { $ref: `#/components/responses/Error${status}` };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description && { description: route.description }),
    tags: [route.tag],
    ...(route.write && { 'x-tegami-scope': 'full' }),
    parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
    ...(route.body && {
      requestBody: {
        required: Array.isArray(route.body.required) && route.body.required.length > 0,
        content: { 'application/json': { schema: route.body } },
      },
    }),
    responses,
  };
}

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
  }));
}
