// RFC 5229 variables: names, `${…}` substitution in strings, and the `set` modifiers
// (§4.1, plus :quoteregex from the regex draft and :encodeurl from RFC 5435 §6).

import { asciiLowerCase } from './comparators.js';

function asciiUpperCase(text: string): string {
  return text.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

/** Longest variable value, in UTF-8 bytes (Pigeonhole's sieve_variables_max_variable_size). */
export const MAX_VARIABLE_BYTES = 4096;
/** Longest variable name (Pigeonhole's EXT_VARIABLES_MAX_VARIABLE_NAME_LEN). */
export const MAX_VARIABLE_NAME = 64;

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** RFC 5229 §3: `identifier`, the only names `set` and the flag commands accept. */
export function isVariableName(name: string): boolean {
  return name.length <= MAX_VARIABLE_NAME && identifier.test(name);
}

/** What `${…}` can see: the script's variables (case-insensitive names) and match variables. */
export interface VariableScope {
  /** Null when the name (lower-cased, namespace included) is unknown: it expands to "". */
  lookup(name: string): string | null;
  /** ${0}…${9}: the last successful :matches/:regex; "" when unset. */
  matchVariable(index: number): string;
}

/**
 * Replaces every well-formed `${name}` / `${ns.name}` / `${digits}` in `text` (RFC 5229 §3).
 * Malformed references stay as written, and substituted text is never scanned again.
 */
export function expandVariables(text: string, scope: VariableScope): string {
  if (!text.includes('${')) return text;
  return text.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (reference, name: string) => {
    if (/^[0-9]+$/.test(name)) {
      const index = Number(name);
      return index <= 9 ? scope.matchVariable(index) : '';
    }
    const parts = name.split('.');
    if (!parts.every((part) => identifier.test(part))) return reference;
    return scope.lookup(name.toLowerCase()) ?? '';
  });
}

/** Whether `text` holds a variable reference (then it is not a constant at compile time). */
export function hasVariableReference(text: string): boolean {
  return /\$\{[A-Za-z0-9_.]+\}/.test(text);
}

/** Cuts a value to MAX_VARIABLE_BYTES of UTF-8 without splitting a character. */
export function limitVariableValue(value: string): string {
  if (value.length * 3 <= MAX_VARIABLE_BYTES) return value;
  let bytes = 0;
  let end = 0;
  for (const c of value) {
    const size = Buffer.byteLength(c, 'utf8');
    if (bytes + size > MAX_VARIABLE_BYTES) break;
    bytes += size;
    end += c.length;
  }
  return value.slice(0, end);
}

export type SetModifier =
  | 'lower'
  | 'upper'
  | 'lowerfirst'
  | 'upperfirst'
  | 'quotewildcard'
  | 'quoteregex'
  | 'encodeurl'
  | 'length';

/** RFC 5229 §4.1 precedence (RFC 5435 §6 puts :encodeurl at 15); higher applies first. */
export const MODIFIER_PRECEDENCE: Readonly<Record<SetModifier, number>> = {
  lower: 40,
  upper: 40,
  lowerfirst: 30,
  upperfirst: 30,
  quotewildcard: 20,
  quoteregex: 20,
  encodeurl: 15,
  length: 10,
};

/** The extension a modifier needs beyond "variables". */
export const MODIFIER_EXTENSION: Readonly<Partial<Record<SetModifier, string>>> = {
  quoteregex: 'regex',
  encodeurl: 'enotify',
};

function firstCharacter(value: string, change: (c: string) => string): string {
  const first = value.codePointAt(0);
  if (first === undefined) return value;
  const size = first > 0xffff ? 2 : 1;
  return change(value.slice(0, size)) + value.slice(size);
}

/** RFC 3986 unreserved characters stay, everything else is percent-encoded UTF-8. */
function encodeUrl(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

export function applyModifier(modifier: SetModifier, value: string): string {
  switch (modifier) {
    // ASCII letters only, as Pigeonhole does (its :upper leaves "é" alone).
    case 'lower':
      return asciiLowerCase(value);
    case 'upper':
      return asciiUpperCase(value);
    case 'lowerfirst':
      return firstCharacter(value, asciiLowerCase);
    case 'upperfirst':
      return firstCharacter(value, asciiUpperCase);
    case 'quotewildcard':
      return value.replace(/[*?\\]/g, '\\$&');
    case 'quoteregex':
      return value.replace(/[\\^$.[\]|()?*+{}]/g, '\\$&');
    case 'encodeurl':
      return encodeUrl(value);
    case 'length':
      return String(Array.from(value).length);
  }
}

/** Applies `modifiers` in precedence order (RFC 5229 §4.1). */
export function applyModifiers(modifiers: readonly SetModifier[], value: string): string {
  const ordered = [...modifiers].sort((a, b) => MODIFIER_PRECEDENCE[b] - MODIFIER_PRECEDENCE[a]);
  return ordered.reduce((text, modifier) => applyModifier(modifier, text), value);
}
