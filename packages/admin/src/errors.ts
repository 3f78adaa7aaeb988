import { StoreError } from '@tegami/store';

// Every refusal the API gives has one shape, {"error": {"code", "message"}}, whatever raised
// it: a route (ApiError), the store (StoreError), or fastify itself (validation, body size).

export type ApiErrorCode =
  | 'invalid_request'
  | 'invalid'
  | 'sieve_compile_error'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'exists'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal';

export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    /** Where a Sieve script fails to compile. */
    readonly line?: number;
    readonly column?: number;
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: { readonly line?: number; readonly column?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const STORE_STATUS: Readonly<Record<StoreError['code'], [number, ApiErrorCode]>> = {
  duplicate: [409, 'exists'],
  not_found: [404, 'not_found'],
  invalid: [400, 'invalid'],
  conflict: [409, 'conflict'],
  schema: [500, 'internal'],
};

/** What fastify raises itself, by its error code: the status stays, the shape becomes ours. */
const FASTIFY_CODES: Readonly<Record<string, [number, ApiErrorCode]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_request'],
};

/**
 * The status and body for any error a request ended with; `internal` is true when it is a
 * bug (or Postgres is down), which the caller logs with the error and answers vaguely.
 */
export function errorReply(err: unknown): { status: number; body: ApiErrorBody; internal: boolean } {
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...err.extra } },
      internal: false,
    };
  }
  if (err instanceof StoreError && err.code !== 'schema') {
    const [status, code] = STORE_STATUS[err.code];
    return { status, body: { error: { code, message: err.message } }, internal: false };
  }
  const fastifyError = err as { validation?: unknown; code?: string; statusCode?: number; message?: string };
  if (fastifyError?.validation) {
    return {
      status: 400,
      body: {
        error: { code: 'invalid_request', message: fastifyError.message ?? 'the request is not valid' },
      },
      internal: false,
    };
  }
  const known = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (known) {
    return {
      status: known[0],
      body: { error: { code: known[1], message: fastifyError.message ?? '' } },
      internal: false,
    };
  }
  // A malformed JSON body: fastify's parser throws a SyntaxError with statusCode 400.
  if (fastifyError?.statusCode === 400) {
    return {
      status: 400,
      body: {
        error: { code: 'invalid_request', message: `the body is not valid JSON: ${fastifyError.message}` },
      },
      internal: false,
    };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'the server failed to answer: its log says why' } },
    internal: true,
  };
}
