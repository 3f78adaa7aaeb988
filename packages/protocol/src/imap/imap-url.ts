// The IMAP URLs CATENATE takes (RFC 4469 §5, URL syntax RFC 5092): relative ones only,
// naming a message or a part of one in the user's own mailboxes. No URLAUTH: a URL naming
// another server or user (imap://…) is refused, as is anything that is not a message.
//
//   /INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME/;PARTIAL=0.100
//   ;UID=20/;SECTION=TEXT              (relative to the selected mailbox, RFC 5092 §7.1)
//
// The mailbox name is percent-encoded UTF-8 (RFC 5092 §3: enc-mailbox, not modified
// UTF-7) with "/" between levels, as Tegami's hierarchy delimiter; the section is a FETCH
// section-spec, percent-encoded (HEADER.FIELDS%20(FROM)).

import { parseSectionSpec, type SectionSpec } from './fetch-section.js';

export interface MessageUrl {
  /** undefined: the selected mailbox. */
  readonly mailbox: string | undefined;
  readonly uidValidity: number | undefined;
  readonly uid: number;
  readonly section: SectionSpec | undefined;
  readonly partial: { readonly offset: number; readonly length: number | undefined } | undefined;
}

const MAX_NUMBER = 4_294_967_295;

function nzNumber(text: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_NUMBER ? n : undefined;
}

function percentDecoded(text: string): string | undefined {
  // RFC 5092 §3: only %XX escapes; an invalid one, or bytes that are not UTF-8, is no name.
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The message (part) a CATENATE URL names; undefined when it is not one Tegami takes. */
export function parseMessageUrl(url: string): MessageUrl | undefined {
  let rest = url;
  let mailbox: string | undefined;
  let uidValidity: number | undefined;
  if (rest.startsWith('/')) {
    const uidAt = rest.toUpperCase().indexOf('/;UID=');
    if (uidAt < 0) return undefined;
    let box = rest.slice(1, uidAt);
    const validityAt = box.toUpperCase().lastIndexOf(';UIDVALIDITY=');
    if (validityAt >= 0) {
      uidValidity = nzNumber(box.slice(validityAt + ';UIDVALIDITY='.length));
      if (uidValidity === undefined) return undefined;
      box = box.slice(0, validityAt);
    }
    mailbox = percentDecoded(box);
    if (!mailbox || mailbox.includes(';')) return undefined;
    rest = rest.slice(uidAt + 1);
  }
  // What is left: ;UID=n [/;SECTION=s] [/;PARTIAL=o[.l]]
  const parts = rest.split('/');
  const uidPart = /^;UID=(\d+)$/i.exec(parts[0] ?? '');
  const uid = uidPart && nzNumber(uidPart[1]!);
  if (!uid) return undefined;
  let section: SectionSpec | undefined;
  let partial: MessageUrl['partial'];
  let at = 1;
  const sectionPart = /^;SECTION=(.+)$/i.exec(parts[at] ?? '');
  if (sectionPart) {
    const text = percentDecoded(sectionPart[1]!);
    section = text === undefined ? undefined : parseSectionSpec(text);
    if (!section) return undefined;
    at++;
  }
  const partialPart = /^;PARTIAL=(\d{1,10})(?:\.(\d{1,10}))?$/i.exec(parts[at] ?? '');
  if (partialPart) {
    const offset = Number(partialPart[1]);
    const length = partialPart[2] === undefined ? undefined : nzNumber(partialPart[2]);
    if (offset > MAX_NUMBER || (partialPart[2] !== undefined && length === undefined)) return undefined;
    partial = { offset, length };
    at++;
  }
  if (at !== parts.length) return undefined;
  return { mailbox, uidValidity, uid, section, partial };
}

/**
 * The URL as BADURL's response code may carry it (RFC 4469 §5 with erratum 4046: the bare
 * URL, no quotes, no "]"), so a hostile URL cannot end the code early or add lines.
 */
export function badUrlText(url: string): string {
  let safe = '';
  for (const c of url) {
    const code = c.codePointAt(0)!;
    safe +=
      c === ']' || code < 0x20 || code === 0x7f ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }
  return safe.length === 0 ? '""' : safe;
}
