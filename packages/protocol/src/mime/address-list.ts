// RFC 5322 §3.4 address lists as IMAP ENVELOPE represents them (RFC 3501
// §7.4.2): each mailbox is (name adl mailbox host), and a group is bracketed
// by a start marker (NIL NIL "group" NIL) and an end marker (NIL NIL NIL NIL).
// Display names stay as written (encoded words included): ENVELOPE carries
// raw header text and the client decodes it. Only their whitespace is
// normalised, as Dovecot does (collapseWhitespace).
//
// Headers in the wild are often broken; this parser recovers what it can and
// never throws. Missing parts are filled the way Dovecot fills them, so a
// mailbox without a host never looks like a group marker.

export interface EnvelopeAddress {
  name: string | null;
  /** Source route (obsolete RFC 822 "@a,@b:"), almost always null. */
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

export const MISSING_MAILBOX = 'MISSING_MAILBOX';
export const MISSING_DOMAIN = 'MISSING_DOMAIN';

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'comment'; text: string }
  | { kind: 'special'; text: string };

// '.' is not a special here: as in Dovecot's parser it is part of an atom,
// so "carol.smith" (no domain) keeps its dots and "J.R. Smith" its spelling;
// local parts and domains join their tokens without spaces anyway.
const specials = '()<>@,;:\\"[]';

/**
 * Runs of whitespace (SP, HTAB, and CR/LF) as one space, none at either end:
 * what Dovecot sends for the envelope's subject and display names
 * (imap_append_string_for_humans), so a folded or tab-separated name reads
 * the same on both. Date, In-Reply-To, Message-ID and addr-specs keep theirs.
 */
export function collapseWhitespace(text: string): string {
  return text.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}

function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        text += value[i++];
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (c === '(') {
      let depth = 0;
      let text = '';
      while (i < value.length) {
        const d = value[i++]!;
        if (d === '\\' && i < value.length) {
          text += value[i++];
          continue;
        }
        if (d === '(' && depth++ === 0) continue;
        if (d === ')' && --depth === 0) break;
        text += d;
      }
      tokens.push({ kind: 'comment', text: text.trim() });
    } else if (c === '[') {
      // domain literal: keep it whole, brackets included
      const end = value.indexOf(']', i);
      const stop = end < 0 ? value.length : end + 1;
      tokens.push({ kind: 'word', text: value.slice(i, stop) });
      i = stop;
    } else if (specials.includes(c)) {
      tokens.push({ kind: 'special', text: c });
      i++;
    } else {
      const start = i;
      while (i < value.length && !specials.includes(value[i]!) && !' \t\r\n'.includes(value[i]!)) i++;
      tokens.push({ kind: 'word', text: value.slice(start, i) });
    }
  }
  return tokens;
}

function isSpecial(token: Token | undefined, text: string): boolean {
  return token?.kind === 'special' && token.text === text;
}

/** Words (dots included, obs-phrase) joined by single spaces; quoted text as written. */
function phraseText(tokens: readonly Token[]): string {
  const words = tokens.filter((token) => token.kind !== 'comment').map((token) => token.text);
  return words.join(' ').trim();
}

/** Local parts and domains: tokens joined without spaces ("john . doe" is john.doe). */
function compactText(tokens: readonly Token[]): string {
  return tokens
    .filter((token) => token.kind !== 'comment')
    .map((token) => token.text)
    .join('');
}

function lastComment(tokens: readonly Token[]): string | null {
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i]!;
    if (token.kind !== 'comment') continue;
    const text = collapseWhitespace(token.text);
    if (text !== '') return text;
  }
  return null;
}

function mailboxAddress(
  name: string | null,
  adl: string | null,
  local: string,
  domain: string,
): EnvelopeAddress {
  return {
    name: name === '' ? null : name,
    adl: adl === '' ? null : adl,
    mailbox: local === '' ? MISSING_MAILBOX : local,
    host: domain === '' ? MISSING_DOMAIN : domain,
  };
}

const stopAtAddressEnd = (token: Token): boolean => isSpecial(token, ',') || isSpecial(token, ';');

/** Parses an address-list header value (From, To, Cc, ...) into ENVELOPE addresses. */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let inGroup = false;
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (isSpecial(token, ',') || token.kind === 'comment') {
      i++;
      continue;
    }
    if (isSpecial(token, ';')) {
      if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
      i++;
      continue;
    }
    // The phrase (display name, group name, or the local part of a bare addr-spec).
    const phraseStart = i;
    while (i < tokens.length && !['<', '>', '@', ':', ',', ';'].some((s) => isSpecial(tokens[i], s))) {
      i++;
    }
    const phrase = tokens.slice(phraseStart, i);
    const stop = tokens[i];
    if (isSpecial(stop, ':') && !inGroup) {
      out.push({ name: null, adl: null, mailbox: phraseText(phrase), host: null });
      inGroup = true;
      i++;
    } else if (isSpecial(stop, '<')) {
      i++;
      const inner: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], '>')) inner.push(tokens[i++]!);
      i++; // '>'
      let routeEnd = 0;
      if (isSpecial(inner[0], '@')) {
        routeEnd = inner.findIndex((t) => isSpecial(t, ':')) + 1;
      }
      const adl = routeEnd > 0 ? compactText(inner.slice(0, routeEnd - 1)) : null;
      const spec = inner.slice(routeEnd);
      const at = spec.findLastIndex((t) => isSpecial(t, '@'));
      const local = compactText(at < 0 ? spec : spec.slice(0, at));
      const domain = at < 0 ? '' : compactText(spec.slice(at + 1));
      const phraseName = collapseWhitespace(phraseText(phrase));
      if (phraseName !== '' || local !== '' || domain !== '') {
        out.push(mailboxAddress(phraseName === '' ? lastComment(phrase) : phraseName, adl, local, domain));
      }
      while (i < tokens.length && !stopAtAddressEnd(tokens[i]!)) i++;
    } else if (isSpecial(stop, '@')) {
      i++;
      const domainStart = i;
      while (i < tokens.length && !stopAtAddressEnd(tokens[i]!) && !isSpecial(tokens[i], '<')) i++;
      const domainTokens = tokens.slice(domainStart, i);
      const domain = compactText(domainTokens.filter((t) => t.kind !== 'special'));
      out.push(mailboxAddress(lastComment(domainTokens), null, compactText(phrase), domain));
    } else {
      // A lone word list ("alice", "undisclosed recipients") or junk such as a stray '>' or ':'.
      const local = compactText(phrase.filter((t) => t.kind !== 'special'));
      if (local !== '') out.push(mailboxAddress(null, null, local, ''));
      if (stop !== undefined && !stopAtAddressEnd(stop)) i++;
    }
  }
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}
