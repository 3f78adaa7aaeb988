import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv4 } from 'node:net';
import { parseRspamdVerdict, RspamdReplyError, type RspamdVerdict } from './rspamd-verdict.js';

export { type RspamdAction, type RspamdVerdict, rspamdActionOf } from './rspamd-verdict.js';

// A client of rspamd's HTTP protocol (rspamd 3.x): /checkv2 on a normal worker scans a
// message with its envelope; /learnspam and /learnham on the controller teach its Bayes
// classifier. Every call is bounded by timeoutMs; every failure is an RspamdError, and
// what follows from it (accept unscanned, answer 451, count a failed learn) is the
// caller's decision.

export interface RspamdCheckInput {
  /** The message as it will be stored (our Received and Authentication-Results already prepended). */
  readonly message: Buffer;
  /** The client's address. */
  readonly ip: string;
  readonly helo: string;
  /** The envelope sender, '' for the null sender <>. */
  readonly from: string;
  readonly recipients: readonly string[];
  readonly queueId: string;
  /** The SMTP AUTH user, when the client authenticated. */
  readonly user?: string;
  /** The client's verified reverse DNS name, when known. */
  readonly hostname?: string;
  /** Our host name. */
  readonly mtaName: string;
}

export type RspamdLearnResult = 'learned' | 'already-learned';

export interface RspamdClient {
  /**
   * POST {url}/checkv2 with the envelope in IP, Helo, From, Rcpt (one field per
   * recipient), Queue-Id, User, Hostname and MTA-Name. Rejects with an RspamdError, or,
   * when the signal aborts, with the signal's reason.
   */
  check(input: RspamdCheckInput, signal?: AbortSignal): Promise<RspamdVerdict>;
  /**
   * POST {controllerUrl}/learnspam or /learnham with the Password header. 'already-learned'
   * when rspamd has learned this message as this kind before (HTTP 208). Anything else
   * that is not a learn (too few tokens: 204; a wrong password: 403; ...) is an RspamdError
   * 'http' with rspamd's reason.
   */
  learn(kind: 'spam' | 'ham', message: Buffer, signal?: AbortSignal): Promise<RspamdLearnResult>;
}

export interface RspamdClientOptions {
  /** The normal worker, e.g. http://rspamd:11333 (needed by check). */
  readonly url?: string;
  /** The controller, e.g. http://rspamd:11334 (needed by learn). */
  readonly controllerUrl?: string;
  /** The controller's password (its `password` or `enable_password`). */
  readonly password?: string;
  /** The most one call may take, from connecting to the last byte of the reply. */
  readonly timeoutMs: number;
  /** The largest reply read (default 4 MiB): a longer one is a protocol error. */
  readonly maxReplyBytes?: number;
}

export type RspamdErrorKind = 'timeout' | 'unreachable' | 'http' | 'protocol';

export class RspamdError extends Error {
  override readonly name = 'RspamdError';
  /**
   * timeout: no complete answer within timeoutMs; unreachable: no connection (refused,
   * reset, no such host) or it broke before an answer; http: rspamd answered with an
   * error status; protocol: the answer is not what rspamd sends.
   */
  readonly kind: RspamdErrorKind;
  /** The HTTP status, for 'http'. */
  readonly status?: number;

  constructor(kind: RspamdErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
  }
}

const DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024;

export function createRspamdClient(options: RspamdClientOptions): RspamdClient {
  // setTimeout fires at once past 2^31 - 1 ms: refuse what it cannot wait for.
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0 && options.timeoutMs <= 2 ** 31 - 1))
    throw new TypeError(`timeoutMs must be between 1 and ${2 ** 31 - 1} ms (got ${options.timeoutMs})`);
  const worker = options.url === undefined ? undefined : baseUrl(options.url, 'url');
  const controller =
    options.controllerUrl === undefined ? undefined : baseUrl(options.controllerUrl, 'controllerUrl');
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const post = (target: URL, headers: OutgoingHttpHeaders, body: Buffer, signal?: AbortSignal) =>
    postOnce(target, headers, body, { timeoutMs: options.timeoutMs, maxReplyBytes, signal });

  return {
    async check(input, signal) {
      if (!worker) throw new Error('this rspamd client has no url: it cannot check');
      const reply = await post(endpoint(worker, 'checkv2'), envelopeHeaders(input), input.message, signal);
      if (reply.status !== 200) throw httpError('checkv2', reply);
      try {
        return parseRspamdVerdict(reply.body);
      } catch (err) {
        if (err instanceof RspamdReplyError) throw new RspamdError('protocol', err.message, { cause: err });
        throw err;
      }
    },
    async learn(kind, message, signal) {
      if (!controller) throw new Error('this rspamd client has no controllerUrl: it cannot learn');
      const path = kind === 'spam' ? 'learnspam' : 'learnham';
      const headers: OutgoingHttpHeaders = {};
      if (options.password !== undefined) headers['Password'] = headerText(options.password);
      const reply = await post(endpoint(controller, path), headers, message, signal);
      // 208 Already Reported: rspamd's learn cache knows this message as this kind.
      if (reply.status === 208) return 'already-learned';
      if (reply.status !== 200) throw httpError(path, reply);
      let answer: unknown;
      try {
        answer = JSON.parse(reply.body);
      } catch {
        answer = undefined;
      }
      if (typeof answer === 'object' && answer !== null && (answer as { success?: unknown }).success === true)
        return 'learned';
      throw new RspamdError(
        'protocol',
        `${path}: 200 without {"success":true}: ${JSON.stringify(reply.body.slice(0, 120))}`,
      );
    },
  };
}

function baseUrl(value: string, option: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${option} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`${option} must be http:// or https:// (got ${JSON.stringify(value)})`);
  return url;
}

/** The endpoint under the base URL's path (rspamd behind a proxy at /rspamd/ keeps its prefix). */
function endpoint(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

function envelopeHeaders(input: RspamdCheckInput): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    IP: headerText(unmappedIp(input.ip)),
    Helo: headerText(input.helo),
    // rspamd reads an empty From as no sender at all; <> is the null reverse-path.
    From: input.from === '' ? '<>' : headerText(input.from),
    'Queue-Id': headerText(input.queueId),
    'MTA-Name': headerText(input.mtaName),
  };
  // An array is sent as one field per value: rspamd reads one recipient per Rcpt field.
  if (input.recipients.length > 0) headers['Rcpt'] = input.recipients.map(headerText);
  if (input.user !== undefined && input.user !== '') headers['User'] = headerText(input.user);
  if (input.hostname !== undefined && input.hostname !== '') headers['Hostname'] = headerText(input.hostname);
  return headers;
}

/** rspamd checks an IPv4 client by its IPv4 address, not the ::ffff: form a dual-stack socket reports. */
function unmappedIp(ip: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]!) ? mapped[1]! : ip;
}

/**
 * A value as an HTTP field carries it: UTF-8 (an SMTPUTF8 address) as its bytes, and no
 * control characters, which no envelope value may hold and which would end the field.
 */
function headerText(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return Buffer.from(value.replace(/[\0-\x1f\x7f]/g, ''), 'utf8').toString('latin1');
}

interface Reply {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
}

function httpError(path: string, reply: Reply): RspamdError {
  let said = reply.reason;
  try {
    const parsed = JSON.parse(reply.body) as { error?: unknown };
    if (typeof parsed.error === 'string') said = parsed.error;
  } catch {
    // Not JSON: the reason phrase says it.
  }
  return new RspamdError('http', `${path}: HTTP ${reply.status} ${said}`.trim(), { status: reply.status });
}

function postOnce(
  target: URL,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  limits: { timeoutMs: number; maxReplyBytes: number; signal?: AbortSignal | undefined },
): Promise<Reply> {
  const { signal } = limits;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Reply>((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const finish = (outcome: { reply: Reply } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if ('reply' in outcome) resolve(outcome.reply);
      else {
        req?.destroy();
        reject(outcome.error);
      }
    };
    const timer = setTimeout(
      () =>
        finish({
          error: new RspamdError(
            'timeout',
            `${target.pathname}: no answer from ${target.host} within ${limits.timeoutMs} ms`,
          ),
        }),
      limits.timeoutMs,
    );
    const onAbort = () => finish({ error: signal?.reason });
    signal?.addEventListener('abort', onAbort, { once: true });

    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent false: one connection per call (rspamd closes each one anyway), so a
    // half-closed pooled socket never fails a call.
    req = send(target, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'Content-Length': String(body.length) },
    });
    let answered: IncomingMessage | undefined;
    req.on('error', (err) => {
      // rspamd 3.4 sends a body with "204 ... contains less tokens than required", which
      // HTTP forbids and Node's parser fails on after the status line: the status and
      // its reason are rspamd's answer all the same.
      if (answered?.statusCode === 204) {
        finish({ reply: { status: 204, reason: answered.statusMessage ?? '', body: '' } });
        return;
      }
      const kind = answered ? 'protocol' : 'unreachable';
      finish({
        error: new RspamdError(kind, `${target.pathname}: ${target.host}: ${err.message}`, { cause: err }),
      });
    });
    req.on('response', (res: IncomingMessage) => {
      answered = res;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxReplyBytes) {
          finish({
            error: new RspamdError(
              'protocol',
              `${target.pathname}: the reply is longer than ${limits.maxReplyBytes} bytes`,
            ),
          });
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) =>
        finish({
          error: new RspamdError('protocol', `${target.pathname}: the reply broke off: ${err.message}`, {
            cause: err,
          }),
        }),
      );
      res.on('end', () => {
        if (!res.complete) {
          finish({ error: new RspamdError('protocol', `${target.pathname}: the reply broke off`) });
          return;
        }
        finish({
          reply: {
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
          },
        });
      });
    });
    req.end(body);
  });
}
