// The stored shape of one MIME entity: plain JSON (numbers, strings, arrays),
// written to messages.metadata once at delivery or APPEND and read by IMAP
// FETCH without parsing the message again.

import type { Envelope } from './envelope.js';
import type { MimeParam } from './mime-parameters.js';

export interface MimeDisposition {
  /** As written, e.g. "attachment". */
  type: string;
  params: MimeParam[];
}

export interface MimePart {
  /**
   * IMAP section number (RFC 3501 §6.4.5): "" for a multipart message
   * itself, "1" for the body of a single-part message, "1.2" for the second
   * part of the first part. A multipart inside message/rfc822 part S has
   * section S too (its children are S.1, S.2); a single-part one is S.1.
   */
  section: string;
  /** Byte offsets into the raw message: the part is raw[headerStart, bodyEnd). */
  headerStart: number;
  /** End of the header section, blank line included; the body starts here. */
  bodyStart: number;
  bodyEnd: number;
  /** Lower-cased effective media type, defaults applied (text/plain, or message/rfc822 in a digest). */
  type: string;
  subtype: string;
  /** Type and subtype as written in Content-Type, for BODYSTRUCTURE; null when defaulted. */
  writtenType: string | null;
  writtenSubtype: string | null;
  /** Content-Type parameters as written (RFC 2231 sections merged, values still encoded). */
  params: MimeParam[];
  /** The same parameters decoded: names lower-cased, RFC 2231 and charsets decoded. */
  decodedParams: Record<string, string>;
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as written; null when absent (7bit). */
  encoding: string | null;
  md5: string | null;
  disposition: MimeDisposition | null;
  language: string[] | null;
  location: string | null;
  /** Body size in octets, as stored (bodyEnd - bodyStart). */
  size: number;
  /** Number of lines (LF characters) in the body. */
  lines: number;
  /** Body size after Content-Transfer-Encoding decoding, for FETCH BINARY.SIZE (RFC 3516). */
  decodedSize: number;
  /** The parts of a multipart, in order; empty otherwise. */
  children: MimePart[];
  /** For message/rfc822: the encapsulated message. */
  message: EncapsulatedMessage | null;
}

export interface EncapsulatedMessage {
  envelope: Envelope;
  /** The encapsulated message's top entity: its header is BODY[S.HEADER]. */
  root: MimePart;
}

/** A part is multipart when it was parsed as one (it has a boundary and children, or had no boundary). */
export function isMultipart(part: MimePart): boolean {
  return part.type === 'multipart';
}

/**
 * Finds the part that BODY[section] refers to. "" is the message itself;
 * for a message/rfc822 part and its multipart content sharing a number, the
 * message/rfc822 part is returned (BODY[S] is the whole encapsulated message).
 */
export function findPart(root: MimePart, section: string): MimePart | undefined {
  if (section === '' || root.section === section) return root;
  for (const child of root.children) {
    if (section === child.section || section.startsWith(`${child.section}.`)) return findPart(child, section);
  }
  if (root.message) {
    const nested = root.message.root;
    if (nested.section === section || section.startsWith(`${nested.section}.`))
      return findPart(nested, section);
  }
  return undefined;
}

/** Every part, depth first in section order, encapsulated messages included. */
export function* walkParts(root: MimePart): Generator<MimePart> {
  yield root;
  for (const child of root.children) yield* walkParts(child);
  if (root.message) yield* walkParts(root.message.root);
}
