// The reply of rspamd's /checkv2 (its JSON protocol, rspamd 3.x) read into a verdict that
// smtp-ingress can act on. Nothing in it is trusted: a reply that is not what rspamd sends
// is a protocol error, never a guess that lets a message through.

export type RspamdAction =
  | 'no action'
  | 'greylist'
  | 'add header'
  | 'rewrite subject'
  | 'soft reject'
  | 'reject';

export interface RspamdVerdict {
  readonly action: RspamdAction;
  readonly score: number;
  readonly requiredScore: number;
  /** Names of the symbols that hit, by descending score (then by name). */
  readonly symbols: readonly string[];
  /** For 'rewrite subject': the new Subject. */
  readonly subject?: string;
  /**
   * Header fields to prepend, in rspamd's order (X-Spamd-Result, X-Spam-Status, X-Spam, ...:
   * the milter block of the reply). A value may be folded (CRLF followed by a space or tab);
   * it never holds any other CR or LF.
   */
  readonly addHeaders: readonly { name: string; value: string }[];
  /** Header field names rspamd asks to remove (its own, from an earlier scanner, before adding them). */
  readonly removeHeaders: readonly string[];
}

/** The reply did not have the shape of an rspamd verdict. */
export class RspamdReplyError extends Error {
  override readonly name = 'RspamdReplyError';
}

const KNOWN_ACTIONS: ReadonlySet<string> = new Set<RspamdAction>([
  'no action',
  'greylist',
  'add header',
  'rewrite subject',
  'soft reject',
  'reject',
]);

/**
 * rspamd's action, with those this client does not know mapped conservatively: an unknown
 * action is never 'no action', because rspamd only names an action when it wants
 * something done.
 *
 * - the six actions of the interface, also spelt with underscores as in rspamd's
 *   configuration (`soft_reject`), in any case: themselves;
 * - `discard` (drop without telling the sender): 'reject', refused in the SMTP session,
 *   so no one is misled and no bounce is sent;
 * - `quarantine`: 'add header', which files the message into Junk, Tegami's quarantine;
 * - any other name containing `reject`: 'soft reject' when it also says `soft` or `temp`,
 *   else 'reject';
 * - any other name (a custom action of a newer rspamd or a local configuration):
 *   'add header' — kept, marked, and out of the INBOX.
 */
export function rspamdActionOf(name: string): RspamdAction {
  const normal = name.trim().toLowerCase().replace(/[_-]+/g, ' ').replace(/\s+/g, ' ');
  if (KNOWN_ACTIONS.has(normal)) return normal as RspamdAction;
  if (normal === 'discard') return 'reject';
  if (normal === 'quarantine') return 'add header';
  if (normal.includes('reject')) return /soft|temp/.test(normal) ? 'soft reject' : 'reject';
  return 'add header';
}

// RFC 5322 §3.6.8 field-name: printable US-ASCII but colon.
const FIELD_NAME = /^[!-9;-~]+$/;

/** Reads a /checkv2 reply body; throws RspamdReplyError when it is not a verdict. */
export function parseRspamdVerdict(body: string): RspamdVerdict {
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    throw new RspamdReplyError(`the reply is not JSON: ${preview(body)}`);
  }
  if (!isObject(reply)) throw new RspamdReplyError(`the reply is not a JSON object: ${preview(body)}`);
  const { action, score, required_score: requiredScore, symbols, subject, milter } = reply;
  if (typeof action !== 'string') throw new RspamdReplyError('the reply has no action');
  if (typeof score !== 'number' || !Number.isFinite(score))
    throw new RspamdReplyError('the reply has no score');
  if (typeof requiredScore !== 'number') throw new RspamdReplyError('the reply has no required_score');
  const mapped = rspamdActionOf(action);
  return {
    action: mapped,
    score,
    requiredScore,
    symbols: symbolNames(symbols),
    ...(mapped === 'rewrite subject' &&
      typeof subject === 'string' && { subject: headerValue('Subject', subject) }),
    addHeaders: headersToAdd(isObject(milter) ? milter['add_headers'] : undefined),
    removeHeaders: headersToRemove(isObject(milter) ? milter['remove_headers'] : undefined),
  };
}

function symbolNames(symbols: unknown): string[] {
  if (symbols === undefined) return [];
  if (!isObject(symbols)) throw new RspamdReplyError('the symbols of the reply are not an object');
  const hits: { name: string; score: number }[] = [];
  for (const [key, value] of Object.entries(symbols)) {
    const entry = isObject(value) ? value : {};
    const name = typeof entry['name'] === 'string' ? entry['name'] : key;
    const score = typeof entry['score'] === 'number' && Number.isFinite(entry['score']) ? entry['score'] : 0;
    hits.push({ name, score });
  }
  return hits
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((h) => h.name);
}

/**
 * milter.add_headers: each name maps to a value, to `{ value, order }`, or to a list of
 * those (one field each). rspamd's `order` places a field among the existing ones; the
 * caller prepends them all, so only their order here is kept.
 */
function headersToAdd(block: unknown): { name: string; value: string }[] {
  if (block === undefined) return [];
  if (!isObject(block)) throw new RspamdReplyError('milter.add_headers is not an object');
  const out: { name: string; value: string }[] = [];
  for (const [name, spec] of Object.entries(block)) {
    checkFieldName(name);
    for (const item of Array.isArray(spec) ? spec : [spec]) {
      const value = typeof item === 'string' ? item : isObject(item) ? item['value'] : undefined;
      if (typeof value !== 'string') throw new RspamdReplyError(`milter.add_headers.${name} has no value`);
      out.push({ name, value: headerValue(name, value) });
    }
  }
  return out;
}

function headersToRemove(block: unknown): string[] {
  if (block === undefined) return [];
  if (!isObject(block)) throw new RspamdReplyError('milter.remove_headers is not an object');
  const names = Object.keys(block);
  for (const name of names) checkFieldName(name);
  return names;
}

function checkFieldName(name: string): void {
  if (!FIELD_NAME.test(name)) throw new RspamdReplyError(`not a header field name: ${preview(name)}`);
}

/**
 * The value as it can be written after "Name: ": line breaks only as folding (RFC 5322
 * §2.2.3), written CRLF; a lone CR or LF, or one not followed by white space, would let
 * the reply add lines of its own to the stored message.
 */
function headerValue(name: string, value: string): string {
  const folded = value.replace(/\r?\n(?=[ \t])/g, '\r\n');
  if (/[\0\r\n]/.test(folded.replace(/\r\n(?=[ \t])/g, ''))) {
    throw new RspamdReplyError(`the value of ${name} breaks the header: ${preview(value)}`);
  }
  return folded;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function preview(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text);
}
