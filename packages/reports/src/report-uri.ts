import { parseMailboxAddress } from '@tegami/protocol';

// Where a domain wants its reports: the `rua` URIs of a DMARC record (RFC 7489 §6.2, with
// the `!size` limit) or of a TLSRPT record (RFC 8460 §3, mailto: or https:).

export type ReportDestination =
  | {
      readonly kind: 'mailto';
      /** The mailbox, domain lower-cased. */
      readonly address: string;
      readonly domain: string;
      /** The URI as published, for logs and the run's record. */
      readonly uri: string;
      /** RFC 7489 §6.2: reports larger than this (octets) must not go to it. */
      readonly maxBytes?: number | undefined;
    }
  | {
      readonly kind: 'https';
      readonly url: string;
      readonly uri: string;
      readonly maxBytes?: number | undefined;
    };

export interface ParsedReportUris {
  readonly destinations: readonly ReportDestination[];
  /** URIs left out, with why (an unknown scheme, a bad address, past the limit). */
  readonly problems: readonly string[];
}

/**
 * More destinations than this in one record are not used: the record is someone else's
 * text, and each destination is a message we send (RFC 7489 §6.2 lets a receiver send to
 * fewer than are listed).
 */
export const MAX_REPORT_DESTINATIONS = 5;

// RFC 7489 §6.2: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ], units powers of two.
const SIZE_SUFFIX = /!(\d{1,15})([kmgt]?)$/i;
const UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * `mailto:a@example.com!10m, https://r.example/tlsrpt` → destinations. `sizes`: whether the
 * DMARC `!size` suffix is recognised (TLS-RPT has none). URIs are separated by commas (a comma
 * inside one is written %2C).
 */
export function parseReportUris(list: string, options: { readonly sizes: boolean }): ParsedReportUris {
  const destinations: ReportDestination[] = [];
  const problems: string[] = [];
  for (const entry of list.split(',')) {
    let uri = entry.trim();
    if (uri === '') continue;
    let maxBytes: number | undefined;
    const size = options.sizes ? SIZE_SUFFIX.exec(uri) : null;
    if (size) {
      maxBytes = Number(size[1]) * UNITS[size[2]!.toLowerCase()]!;
      uri = uri.slice(0, size.index);
    }
    const destination = parseOne(uri, entry.trim(), maxBytes);
    if (typeof destination === 'string') {
      problems.push(destination);
      continue;
    }
    if (destinations.some((d) => sameDestination(d, destination))) continue;
    if (destinations.length === MAX_REPORT_DESTINATIONS) {
      problems.push(`${entry.trim()}: more than ${MAX_REPORT_DESTINATIONS} destinations, left out`);
      continue;
    }
    destinations.push(destination);
  }
  return { destinations, problems };
}

function parseOne(uri: string, published: string, maxBytes: number | undefined): ReportDestination | string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'mailto') {
    let address: string;
    try {
      // RFC 6068: the address may be percent-encoded; header fields after '?' are ignored.
      address = decodeURIComponent(uri.slice('mailto:'.length).split('?')[0]!);
    } catch {
      return `${published}: not a valid mailto: URI`;
    }
    const parsed = parseMailboxAddress(address);
    if (!parsed.ok) return `${published}: ${parsed.problem}`;
    return {
      kind: 'mailto',
      address: `${parsed.address.localPart}@${parsed.address.domain}`,
      domain: parsed.address.domain,
      uri: published,
      ...(maxBytes !== undefined && { maxBytes }),
    };
  }
  if (scheme === 'https') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return `${published}: not a valid https: URI`;
    }
    return {
      kind: 'https',
      url: url.toString(),
      uri: published,
      ...(maxBytes !== undefined && { maxBytes }),
    };
  }
  return `${published}: ${scheme ? `the ${scheme}: scheme is not supported` : 'not a URI'}`;
}

function sameDestination(a: ReportDestination, b: ReportDestination): boolean {
  if (a.kind === 'mailto' && b.kind === 'mailto') return a.address.toLowerCase() === b.address.toLowerCase();
  if (a.kind === 'https' && b.kind === 'https') return a.url === b.url;
  return false;
}
