import { BlockList, isIP, type Socket, SocketAddress } from 'node:net';

// Server side of the HAProxy PROXY protocol, versions 1 (text) and 2 (binary), as in
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt. A load balancer that
// forwards TCP puts a header in front of the client's bytes saying whom it forwards for;
// we read that header from trusted peers only (anyone else could claim any address).

// ---------------------------------------------------------------------------------------
// Trusted address lists

/**
 * A list of IPv4/IPv6 networks (`TEGAMI_PROXY_TRUSTED_CIDRS`). IPv4 addresses and their
 * IPv4-mapped IPv6 forms (`::ffff:10.1.2.3`, how a dual-stack socket reports IPv4 peers)
 * are the same address here, whichever way the list or the address is written.
 */
export class CidrList {
  readonly #blocks: BlockList;
  /** The entries in canonical form (`10.0.0.0/8`, `2001:db8::/32`), for logs. */
  readonly entries: readonly string[];

  private constructor(entries: readonly string[], blocks: BlockList) {
    this.entries = entries;
    this.#blocks = blocks;
  }

  /** See {@link parseCidrList}. */
  static parse(text: string): CidrList {
    const blocks = new BlockList();
    const entries: string[] = [];
    for (const raw of text.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue; // tolerate "a, b," and an empty setting
      const { address, prefix, family } = parseCidrEntry(entry);
      blocks.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      entries.push(`${address}/${prefix}`);
    }
    return new CidrList(entries, blocks);
  }

  /** Whether `address` (any textual form; IPv4-mapped IPv6 counts as IPv4) is in the list. */
  contains(address: string): boolean {
    const plain = unwrapIpv4Mapped(address);
    const family = isIP(plain);
    if (family === 0 || plain.includes('%')) return false;
    // node's BlockList itself matches IPv4 rules against IPv4-mapped addresses (and the other
    // way round) when told the family; unwrapping first just makes the common case obvious.
    return this.#blocks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Parses a comma-separated list of addresses and CIDRs (`10.0.0.0/8, 2001:db8::/32, ::1`);
 * a bare address means /32 or /128, blanks between commas are ignored. Throws an Error
 * naming the bad entry, also for an entry with bits set past its prefix (`10.1.0.0/8`),
 * which is more likely a typo than a wish to trust the whole /8.
 */
export function parseCidrList(text: string): CidrList {
  return CidrList.parse(text);
}

/** Whether `address` is in `list`; `::ffff:10.1.2.3` is treated as `10.1.2.3`. */
export function cidrListContains(list: CidrList, address: string): boolean {
  return list.contains(address);
}

function parseCidrEntry(entry: string): { address: string; prefix: number; family: 4 | 6 } {
  const bad = (why: string) => new Error(`invalid trusted proxy address "${entry}": ${why}`);
  const slash = entry.indexOf('/');
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(addressText);
  const address = family === 4 ? addressText : canonicalIpv6(addressText);
  if (family === 0 || address === undefined || addressText.includes('%')) {
    throw bad('not an IPv4 or IPv6 address (or CIDR such as 10.0.0.0/8)');
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = entry.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      throw bad(`the prefix length must be a number from 0 to ${bits}`);
    }
    prefix = Number(prefixText);
  }
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const network = maskBytes(bytes, prefix);
  if (!network.every((byte, i) => byte === bytes[i])) {
    const suggestion = family === 4 ? network.join('.') : formatIpv6(network);
    throw bad(`bits are set past the /${prefix} prefix (did you mean ${suggestion}/${prefix}?)`);
  }
  return { address, prefix, family: family === 4 ? 4 : 6 };
}

// ---------------------------------------------------------------------------------------
// Addresses

/** `::ffff:10.1.2.3` -> `10.1.2.3`; anything else unchanged. */
function unwrapIpv4Mapped(address: string): string {
  const match = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return match ? match[1]! : address;
}

/**
 * The text form node gives IPv6 addresses, as in `socket.remoteAddress` (libuv: lower case,
 * longest zero run as `::`, IPv4-mapped as `::ffff:1.2.3.4`); undefined if libuv refuses it.
 */
function canonicalIpv6(text: string): string | undefined {
  try {
    return new SocketAddress({ address: text, family: 'ipv6' }).address;
  } catch {
    return undefined;
  }
}

function formatIpv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const full = groups.join(':');
  return canonicalIpv6(full) ?? full;
}

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.'), Number);
}

/** The 16 bytes of a valid IPv6 address (as checked by `isIP`, without a zone). */
function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  let ipv4Tail: Uint8Array | undefined;
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    ipv4Tail = ipv4Bytes(text.slice(colon + 1));
    text = text.slice(0, colon + 1) + '0:0';
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...(tail === undefined ? [] : zeros), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  if (ipv4Tail) bytes.set(ipv4Tail, 12);
  return bytes;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

// ---------------------------------------------------------------------------------------
// Header parsing

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * A parsed PROXY header. `source`/`destination` are absent when the header carries no
 * usable addresses (v2 LOCAL, v1 UNKNOWN, v2 UNSPEC or a family we do not read, such as
 * UDP or AF_UNIX): the connection's own endpoints then stand. Addresses are in node's text
 * form (IPv6 compressed, IPv4-mapped IPv6 as `::ffff:1.2.3.4`).
 */
export interface ProxyHeader {
  readonly version: 1 | 2;
  /** `local`: v2 LOCAL, a connection the proxy made itself (health checks). */
  readonly command: 'proxy' | 'local';
  readonly source?: ProxyEndpoint;
  readonly destination?: ProxyEndpoint;
}

export type ProxyParseResult =
  | { readonly state: 'need-more' }
  /** `rest`: the bytes after the header, which belong to the protocol (may be empty). */
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly state: 'invalid'; readonly reason: string };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 line, CRLF included (`PROXY UNKNOWN` with two full IPv6 addresses). */
const V1_MAX_LENGTH = 107;
const V1_PROTOCOLS = ['TCP4 ', 'TCP6 ', 'UNKNOWN ', 'UNKNOWN\r'];

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_LENGTH = 16;
/**
 * TLV bytes (everything after the addresses) we accept in a v2 header. The length field
 * allows 64 KiB; real proxies send a few dozen bytes (AWS's VPC endpoint ID, ALPN, SNI, TLS
 * details), so 4 KiB is plenty and bounds what a broken proxy can make us buffer.
 */
export const PROXY_V2_MAX_TLV_BYTES = 4096;
/** Address block sizes of the family/transport bytes the spec lists (0x00 UNSPEC has none). */
const V2_ADDRESS_LENGTHS = new Map<number, number>([
  [0x00, 0],
  [0x11, 12], // TCP over IPv4
  [0x12, 12], // UDP over IPv4
  [0x21, 36], // TCP over IPv6
  [0x22, 36], // UDP over IPv6
  [0x31, 216], // UNIX stream
  [0x32, 216], // UNIX datagram
]);

const NEED_MORE: ProxyParseResult = { state: 'need-more' };

/** What one look at the bytes so far says: `total` is how long the header will be, if known. */
type Examined =
  | { readonly kind: 'need-more'; readonly total?: number }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'done'; readonly header: ProxyHeader; readonly length: number };

/**
 * Reads a PROXY header (v1 or v2, told apart by the first byte) from the start of a stream
 * fed in chunks of any size, down to one byte. It says `invalid` as soon as the bytes
 * cannot become a valid header, and buffers at most 107 bytes (v1) or 16 + addresses +
 * {@link PROXY_V2_MAX_TLV_BYTES} (v2) plus whatever the last chunk brought along.
 */
export class ProxyHeaderParser {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Buffered bytes needed before the next look (a v2 header's whole length once known). */
  #needed = 1;
  #final: ProxyParseResult | undefined;

  /**
   * Adds the next bytes. Once `invalid`, it stays so; pushing after `done` is a mistake (the
   * bytes belong to the protocol) and throws.
   */
  push(chunk: Uint8Array): ProxyParseResult {
    if (this.#final?.state === 'invalid') return this.#final;
    if (this.#final) throw new Error('ProxyHeaderParser: the header is complete; later bytes are not its');
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.#size += chunk.length;
    }
    if (this.#size < this.#needed) return NEED_MORE;
    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [data];
    const examined = examine(data);
    switch (examined.kind) {
      case 'need-more':
        this.#needed = examined.total ?? this.#size + 1;
        return NEED_MORE;
      case 'invalid':
        this.#chunks = [];
        this.#final = { state: 'invalid', reason: examined.reason };
        return this.#final;
      case 'done':
        this.#chunks = [];
        this.#final = { state: 'done', header: examined.header, rest: data.subarray(examined.length) };
        return this.#final;
    }
  }
}

/** Whether the first `min(length)` bytes of `data` and `pattern` agree. */
function agreesWith(data: Uint8Array, pattern: Uint8Array): boolean {
  const n = Math.min(data.length, pattern.length);
  for (let i = 0; i < n; i++) if (data[i] !== pattern[i]) return false;
  return true;
}

function examine(data: Buffer): Examined {
  if (data.length === 0) return { kind: 'need-more' };
  if (agreesWith(data, V2_SIGNATURE)) return examineV2(data);
  if (agreesWith(data, V1_PREFIX)) return examineV1(data);
  return { kind: 'invalid', reason: 'not a PROXY protocol header (neither "PROXY " nor the v2 signature)' };
}

function invalid(reason: string): Examined {
  return { kind: 'invalid', reason };
}

function examineV1(data: Buffer): Examined {
  const end = data.subarray(0, V1_MAX_LENGTH).indexOf('\r\n');
  if (end < 0) {
    if (data.length >= V1_MAX_LENGTH) return invalid(`v1: no CRLF within the first ${V1_MAX_LENGTH} bytes`);
    // Fail early on a wrong protocol word rather than waiting for 107 bytes.
    const word = data.toString('latin1', V1_PREFIX.length, V1_PREFIX.length + 8);
    if (!V1_PROTOCOLS.some((p) => p.startsWith(word) || word.startsWith(p))) {
      return invalid(`v1: unknown protocol in ${JSON.stringify(word)}`);
    }
    return { kind: 'need-more' };
  }
  const fields = data.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  const protocol = fields[1];
  // UNKNOWN: "the receiver must ignore anything presented before the CRLF".
  if (protocol === 'UNKNOWN') return { kind: 'done', header: { version: 1, command: 'proxy' }, length };
  if (protocol !== 'TCP4' && protocol !== 'TCP6')
    return invalid(`v1: unknown protocol ${JSON.stringify(protocol)}`);
  if (fields.length !== 6) return invalid(`v1: expected 6 space-separated fields, got ${fields.length}`);
  const family = protocol === 'TCP4' ? 4 : 6;
  const [, , sourceText = '', destinationText = '', sourcePortText = '', destinationPortText = ''] = fields;
  const sourceAddress = parseV1Address(sourceText, family);
  const destinationAddress = parseV1Address(destinationText, family);
  if (sourceAddress === undefined)
    return invalid(`v1: bad ${protocol} address ${JSON.stringify(sourceText)}`);
  if (destinationAddress === undefined) {
    return invalid(`v1: bad ${protocol} address ${JSON.stringify(destinationText)}`);
  }
  const sourcePort = parseV1Port(sourcePortText);
  const destinationPort = parseV1Port(destinationPortText);
  if (sourcePort === undefined) return invalid(`v1: bad port ${JSON.stringify(sourcePortText)}`);
  if (destinationPort === undefined) return invalid(`v1: bad port ${JSON.stringify(destinationPortText)}`);
  return {
    kind: 'done',
    header: {
      version: 1,
      command: 'proxy',
      source: { address: sourceAddress, port: sourcePort },
      destination: { address: destinationAddress, port: destinationPort },
    },
    length,
  };
}

/** An address of the given family in canonical text form, or undefined. */
function parseV1Address(text: string, family: 4 | 6): string | undefined {
  // isIP already refuses IPv4 with leading zeros (octal confusion); zones make no sense here.
  if (isIP(text) !== family || text.includes('%')) return undefined;
  return family === 4 ? text : canonicalIpv6(text);
}

function parseV1Port(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function examineV2(data: Buffer): Examined {
  if (data.length <= V2_SIGNATURE.length) return { kind: 'need-more' };
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`v2: version ${versionCommand >> 4}, expected 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`v2: unknown command ${command}`);
  const local = command === 0;
  if (data.length < 14) return { kind: 'need-more' };
  const familyTransport = data[13]!;
  // For LOCAL "the family ... is ignored"; for PROXY it must be one the spec lists.
  const addressLength = local ? 0 : V2_ADDRESS_LENGTHS.get(familyTransport);
  if (addressLength === undefined) return invalid(`v2: unknown family/transport 0x${hex(familyTransport)}`);
  if (data.length < V2_FIXED_LENGTH) return { kind: 'need-more' };
  const length = data.readUInt16BE(14);
  if (length < addressLength) {
    return invalid(
      `v2: ${length}-byte address block, family/transport 0x${hex(familyTransport)} needs ${addressLength}`,
    );
  }
  if (length - addressLength > PROXY_V2_MAX_TLV_BYTES) {
    return invalid(`v2: ${length - addressLength} bytes of TLVs, more than ${PROXY_V2_MAX_TLV_BYTES}`);
  }
  const total = V2_FIXED_LENGTH + length;
  if (data.length < total) return { kind: 'need-more', total };

  // LOCAL: "discard the protocol block"; UNSPEC: "the receiver should ignore address information".
  if (local) return { kind: 'done', header: { version: 2, command: 'local' }, length: total };
  if (familyTransport === 0x00)
    return { kind: 'done', header: { version: 2, command: 'proxy' }, length: total };

  // TLVs are skipped, but must tile the rest of the header exactly (as HAProxy checks).
  // A CRC32C TLV is not verified: the spec requires that only of receivers supporting it.
  let offset = V2_FIXED_LENGTH + addressLength;
  while (offset < total) {
    if (total - offset < 3) return invalid('v2: truncated TLV');
    offset += 3 + data.readUInt16BE(offset + 1);
    if (offset > total) return invalid('v2: a TLV runs past the end of the header');
  }

  const at = V2_FIXED_LENGTH;
  let source: ProxyEndpoint;
  let destination: ProxyEndpoint;
  if (familyTransport === 0x11) {
    source = { address: data.subarray(at, at + 4).join('.'), port: data.readUInt16BE(at + 8) };
    destination = { address: data.subarray(at + 4, at + 8).join('.'), port: data.readUInt16BE(at + 10) };
  } else if (familyTransport === 0x21) {
    source = { address: formatIpv6(data.subarray(at, at + 16)), port: data.readUInt16BE(at + 32) };
    destination = { address: formatIpv6(data.subarray(at + 16, at + 32)), port: data.readUInt16BE(at + 34) };
  } else {
    // UDP or AF_UNIX: valid, but not what a mail service is reached over. The spec lets a
    // receiver that does not implement a family fall back to UNSPEC: the real endpoints.
    return { kind: 'done', header: { version: 2, command: 'proxy' }, length: total };
  }
  return { kind: 'done', header: { version: 2, command: 'proxy', source, destination }, length: total };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------
// Untrusted peers

/**
 * Whether the first bytes a client sent are, or begin, a PROXY header: they start with
 * `PROXY ` or the v2 signature, or are a (non-empty) prefix of either. Meant for
 * connections from untrusted peers when PROXY support is on: such a header means a proxy
 * we were not told to trust (a missing TEGAMI_PROXY_TRUSTED_CIDRS entry), and closing
 * says so more plainly than answering it as a command. Note that a first chunk of just
 * `P`, `PR`... or a bare `\r\n` (a prefix of the v2 signature) also counts.
 */
export function looksLikeProxyHeader(firstBytes: Uint8Array): boolean {
  return firstBytes.length > 0 && (agreesWith(firstBytes, V1_PREFIX) || agreesWith(firstBytes, V2_SIGNATURE));
}

/**
 * For the caller's first 'data' chunk from an unproxied connection: destroys the socket
 * (no goodbye: a proxy would not read it) and returns true when the chunk looks like a
 * PROXY header; otherwise returns false and the chunk goes to the protocol as usual.
 */
export function closeIfProxyHeader(firstChunk: Uint8Array, socket: Socket): boolean {
  // A proxy sends its header in one segment; six bytes (`PROXY `, or the start of the v2
  // signature) are needed before a client's odd first chunk (`P`, an empty line) is taken
  // for one.
  if (firstChunk.length < V1_PREFIX.length || !looksLikeProxyHeader(firstChunk)) return false;
  socket.destroy();
  return true;
}

// ---------------------------------------------------------------------------------------
// Sockets

export interface ProxyPolicy {
  /** TEGAMI_PROXY_PROTOCOL. */
  readonly enabled: boolean;
  /** TEGAMI_PROXY_TRUSTED_CIDRS: the peers that must (and alone may) send a PROXY header. */
  readonly trusted: CidrList;
  /** How long a trusted peer has to send the whole header (the spec suggests at least 3 s). */
  readonly timeoutMs: number;
}

export interface ConnectionOrigin {
  /** The client's address, IPv4-mapped IPv6 unwrapped (`10.1.2.3`, not `::ffff:10.1.2.3`). */
  readonly address: string;
  readonly port: number;
  /**
   * Whether the connection came through a trusted proxy that sent a header. For a v2 LOCAL,
   * v1 UNKNOWN or address-less v2 header this is true while address/port are the proxy's own.
   */
  readonly proxied: boolean;
}

/** PROXY protocol off: every connection is its own client. */
export const NO_PROXY: ProxyPolicy = Object.freeze({
  enabled: false,
  trusted: CidrList.parse(''),
  timeoutMs: 0,
});

/**
 * Finds out whom a new connection is from, before the server says anything. Call it first
 * thing, before attaching any 'data' or 'readable' listener (an 'error' listener is fine
 * and advisable).
 *
 * - Disabled, or the peer is not in `policy.trusted`: resolves at once with the socket's own
 *   remote address, `proxied: false`. Check the client's first bytes with
 *   {@link closeIfProxyHeader} if you want untrusted headers refused.
 * - Trusted peer: a header is required. Our protocols are server-speaks-first, so we cannot
 *   wait to see whether the client talks first; and a trusted proxy sends the header at once.
 *   Resolves with the header's source address (or the socket's own for LOCAL/UNKNOWN) once
 *   the header is in; the bytes after it are put back (`unshift`), so the caller's 'data'
 *   listener gets them first. The socket is left as it was found: not flowing until a 'data'
 *   listener is attached.
 * - Resolves `undefined`, having destroyed the socket, when a trusted peer sends an invalid
 *   header, none within `timeoutMs`, or closes first; also when the socket is already gone.
 *
 * Never rejects, and removes every listener and timer it added.
 */
export function acceptProxiedConnection(
  socket: Socket,
  policy: ProxyPolicy,
): Promise<ConnectionOrigin | undefined> {
  const remoteAddress = socket.remoteAddress;
  const remotePort = socket.remotePort;
  if (socket.destroyed || remoteAddress === undefined || remotePort === undefined) {
    socket.destroy();
    return Promise.resolve(undefined);
  }
  const own: ConnectionOrigin = {
    address: unwrapIpv4Mapped(remoteAddress),
    port: remotePort,
    proxied: false,
  };
  if (!policy.enabled || !policy.trusted.contains(remoteAddress)) return Promise.resolve(own);

  return new Promise((resolve) => {
    const parser = new ProxyHeaderParser();
    let settled = false;
    const settle = (origin: ConnectionOrigin | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', fail);
      socket.removeListener('close', fail);
      socket.removeListener('error', fail);
      resolve(origin);
    };
    function fail() {
      settle(undefined);
      socket.destroy();
    }
    // 'readable' + read() rather than 'data': removing the last 'readable' listener returns
    // the stream to its initial mode, so a 'data' listener attached later starts it flowing.
    function onReadable() {
      try {
        for (let chunk: unknown = socket.read(); chunk !== null && !settled; chunk = socket.read()) {
          if (!(chunk instanceof Uint8Array)) return fail(); // setEncoding() was called: not ours to undo
          const result = parser.push(chunk);
          if (result.state === 'invalid') return fail();
          if (result.state === 'done') {
            const { header, rest } = result;
            settle(
              header.source
                ? {
                    address: unwrapIpv4Mapped(header.source.address),
                    port: header.source.port,
                    proxied: true,
                  }
                : { ...own, proxied: true },
            );
            if (rest.length > 0) socket.unshift(rest);
            return;
          }
        }
      } catch {
        fail();
      }
    }
    const timer = setTimeout(fail, policy.timeoutMs);
    socket.on('readable', onReadable);
    socket.on('end', fail);
    socket.on('close', fail);
    socket.on('error', fail);
  });
}
