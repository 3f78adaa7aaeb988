/** A client on this host (127.0.0.0/8, ::1, and IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
