// The authserv-id of an Authentication-Results field (RFC 8601 §2.2), which smtp-ingress
// reads to remove forgeries of its own verdict (§5) and the delivery-worker reads to find
// that verdict when it ARC-seals a forwarded message.

const SPACE = /\s/;
const TOKEN_END = /[\s;(]/;

/**
 * The first token of an Authentication-Results value, lower-cased: comments (which nest,
 * RFC 5322 §3.2.2, and may escape a parenthesis with "\") and whitespace before it skipped,
 * a version or a comment after it ignored. One pass over the value: stripping the innermost
 * comments until none was left took time quadratic in their nesting, so a field of 200,000
 * "(" sent to port 25 held smtp-ingress for minutes (issue 21, found by fuzzing).
 */
export function authservIdOf(value: string): string {
  let start = 0;
  let depth = 0;
  while (start < value.length) {
    const c = value[start]!;
    if (depth > 0) {
      if (c === '\\') start++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
      start++;
    } else if (c === '(') {
      depth = 1;
      start++;
    } else if (SPACE.test(c)) {
      start++;
    } else {
      break;
    }
  }
  let end = start;
  while (end < value.length && !TOKEN_END.test(value[end]!)) end++;
  return value.slice(start, end).toLowerCase();
}
