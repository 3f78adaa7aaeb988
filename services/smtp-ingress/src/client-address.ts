import { addressBytes, unwrapIpv4Mapped } from '@tegami/rpc';

// Client addresses as the connection checks need them (their bytes come from @tegami/rpc's
// reverse-names, shared with the dns-resolver): compared with what DNS answers, whatever the
// text form, with IPv4 peers of a dual-stack socket taken for the IPv4 addresses they are.

export { addressBytes, unwrapIpv4Mapped };

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
