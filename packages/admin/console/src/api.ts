// The console's only door to Tegami: the admin API at /api/v1 of the server that served it,
// with the operator's token. The token lives in sessionStorage: it goes with the tab, not
// with the browser (a token is a full admin credential).

const TOKEN_KEY = 'tegami.adminToken';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** A refused or failed request, with the API's own code and sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Where a Sieve script fails to compile. */
    readonly at?: { readonly line: number; readonly column: number },
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the API says the token is no good any more (401): the app shows the login. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

// The API is served beside the console: /console/ -> /api/v1.
const API_ROOT = new URL('../api/v1', document.baseURI).pathname;

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const token = storedToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(API_ROOT + path, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The admin API did not answer: is Tegami running?');
  }
  const text = await response.text();
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(
        response.status,
        'bad_response',
        `The admin API answered ${response.status} with no JSON.`,
      );
    }
  }
  if (!response.ok) {
    const error = (
      json as { error?: { code?: string; message?: string; line?: number; column?: number } } | null
    )?.error;
    if (response.status === 401) for (const listener of unauthorizedListeners) listener();
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `The admin API answered ${response.status}.`,
      error?.line !== undefined ? { line: error.line, column: error.column ?? 1 } : undefined,
    );
  }
  return json as T;
}

/** One path segment: addresses and Message-IDs carry @, <, > and / that must not split the path. */
export const seg = (value: string): string => encodeURIComponent(value);
