// Address parts (RFC 5228 §2.7.4 :all :localpart :domain; RFC 5233 subaddress :user
// :detail): which piece of an address a test compares.

export type AddressPart = 'all' | 'localpart' | 'domain' | 'user' | 'detail';

export const ADDRESS_PARTS: readonly AddressPart[] = ['all', 'localpart', 'domain', 'user', 'detail'];

/** RFC 5233 §3: the separator between user and detail; "+" as Pigeonhole's default recipient_delimiter. */
export const SUBADDRESS_SEPARATOR = '+';

/** An address as the tests see it: local part and domain; domain null when there is none. */
export interface SieveAddress {
  readonly localPart: string;
  readonly domain: string | null;
  /**
   * A header value that holds no valid address: localPart is the value as written. Only
   * :all sees it (Pigeonhole compares the raw text then); the other parts match nothing.
   */
  readonly invalid?: boolean;
}

/** Splits `local@domain` at its last `@` (a quoted local part may hold one). */
export function splitAddress(address: string): SieveAddress {
  const at = address.lastIndexOf('@');
  if (at < 0) return { localPart: address, domain: null };
  return { localPart: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The part of `address` a test compares, or null when the address has no such part: then it
 * matches no key (RFC 5233 §4: ":detail" of an address without a separator; also the
 * domain of an address that has none).
 */
export function addressPart(address: SieveAddress, part: AddressPart): string | null {
  if (address.invalid) return part === 'all' ? address.localPart : null;
  switch (part) {
    case 'all':
      return address.domain === null ? address.localPart : `${address.localPart}@${address.domain}`;
    case 'localpart':
      return address.localPart;
    case 'domain':
      return address.domain;
    case 'user': {
      const separator = address.localPart.indexOf(SUBADDRESS_SEPARATOR);
      return separator < 0 ? address.localPart : address.localPart.slice(0, separator);
    }
    case 'detail': {
      const separator = address.localPart.indexOf(SUBADDRESS_SEPARATOR);
      return separator < 0 ? null : address.localPart.slice(separator + 1);
    }
  }
}
