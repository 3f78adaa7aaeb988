import { isIP } from 'node:net';

// Client addresses as the connection checks need them: as bytes (to reverse them for a DNSBL
// and to compare them with what DNS answers, whatever the text form), with IPv4 peers of a
// dual-stack socket (`::ffff:192.0.2.1`) taken for the IPv4 addresses they are.

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

/** Whether two texts name the same address (`2001:db8::1` and `2001:0db8:0:0:0:0:0:1` do). */
export function sameAddress(a: string, b: string): boolean {
  const x = addressBytes(a);
  const y = addressBytes(b);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** 127.0.0.0/8 and ::1: a client on this very host. */
export function isLoopbackAddress(address: string): boolean {
  const bytes = addressBytes(address);
  if (!bytes) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
}

/** The address in brackets for replies and logs' sake: `[192.0.2.1]`, `[2001:db8::1]`. */
export function bracketed(address: string): string {
  return `[${unwrapIpv4Mapped(address)}]`;
}
