import { isIP } from 'node:net';

// IP addresses as the DNS sees them: as bytes (whatever the text form), reversed into the
// labels of a PTR owner name (RFC 1035 §3.5, RFC 3596 §2.5) or of a DNSBL query (RFC 5782),
// and back. IPv4 peers of a dual-stack socket (`::ffff:192.0.2.1`) are the IPv4 addresses
// they are. One implementation for the dns-resolver, smtp-ingress and mailauth's PTR lookups.

/** `::ffff:192.0.2.1` → `192.0.2.1`; anything else unchanged. */
export function unwrapIpv4Mapped(address: string): string {
  const match = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return match ? match[1]! : address;
}

/** The 4 (IPv4) or 16 (IPv6) bytes of an address; undefined for anything else, a zone index too. */
export function addressBytes(address: string): Uint8Array | undefined {
  const plain = unwrapIpv4Mapped(address);
  const family = isIP(plain);
  if (family === 4) return Uint8Array.from(plain.split('.'), Number);
  if (family !== 6 || plain.includes('%')) return undefined;
  let text = plain;
  let ipv4Tail: number[] | undefined;
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    ipv4Tail = text
      .slice(colon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, colon + 1)}0:0`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const bytes = new Uint8Array(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  if (ipv4Tail) bytes.set(ipv4Tail, 12);
  return bytes;
}

/**
 * The reversed labels of an address, without a suffix: octets for IPv4 (`192.0.2.99` →
 * `99.2.0.192`), the 32 nibbles for IPv6; undefined for a text that is not an address.
 */
export function reversedAddressLabels(address: string): string | undefined {
  const bytes = addressBytes(address.trim());
  if (!bytes) return undefined;
  const labels =
    bytes.length === 4
      ? [...bytes].reverse().map(String)
      : [...bytes].flatMap((byte) => [(byte >> 4).toString(16), (byte & 0x0f).toString(16)]).reverse();
  return labels.join('.');
}

/** The PTR owner name of an address: under in-addr.arpa or ip6.arpa; undefined for no address. */
export function reverseDnsNameOf(address: string): string | undefined {
  const labels = reversedAddressLabels(address);
  if (labels === undefined) return undefined;
  return `${labels}.${addressBytes(address.trim())!.length === 4 ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

/** The address an in-addr.arpa or ip6.arpa name stands for (what SPF's ptr asks about). */
export function addressOfReverseName(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower.endsWith('.in-addr.arpa')) {
    const address = lower.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    return isIP(address) === 4 ? address : undefined;
  }
  if (lower.endsWith('.ip6.arpa')) {
    const nibbles = lower.slice(0, -'.ip6.arpa'.length).split('.').reverse();
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const groups = Array.from({ length: 8 }, (_, i) => nibbles.slice(i * 4, i * 4 + 4).join(''));
    return groups.join(':');
  }
  return undefined;
}
