import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

// A remote MTA for tests: answers each RCPT (and the end of DATA) as the test script
// says, and records what it was sent. Minimal ESMTP with PIPELINING, SIZE, DSN,
// 8BITMIME, and STARTTLS when given a certificate, enough for the worker's client.

export interface PeerTransaction {
  readonly helo: string;
  /** The transaction came over TLS (after STARTTLS). */
  readonly tls: boolean;
  readonly mailFrom: string;
  readonly rcpts: { readonly address: string; readonly params: string }[];
  readonly data: Buffer;
  readonly accepted: string[];
}

export interface PeerScript {
  /** Reply to one RCPT, e.g. "250 2.1.5 ok" or "451 4.3.0 later". Default: 250. */
  rcpt?: (address: string, attempt: number) => string;
  /** Reply after the data. Default: 250 with a queue id. */
  data?: (transaction: PeerTransaction) => string;
  /** The greeting. Default: 220. */
  greeting?: string;
  /** Hold every connection this long before the greeting (to see concurrency). */
  greetingDelayMs?: number;
  /** Leave DSN out of the EHLO reply. */
  noDsn?: boolean;
  /** The SIZE limit announced in the EHLO reply (default 10 MiB). */
  maxSize?: number;
  /** Offer STARTTLS (RFC 3207) with this certificate; no STARTTLS without one. */
  tls?: { readonly cert: Buffer | string; readonly key: Buffer | string };
}

export interface ScriptedPeer {
  readonly port: number;
  readonly host: string;
  readonly transactions: PeerTransaction[];
  /** Every RCPT address tried, in order, with what it got. */
  readonly rcptLog: { address: string; reply: string }[];
  /** Most connections open at once so far. */
  readonly maxConcurrent: () => number;
  readonly connections: () => number;
  stop(): Promise<void>;
}

export async function startScriptedPeer(
  script: PeerScript = {},
  host = '127.0.0.1',
  port = 0,
): Promise<ScriptedPeer> {
  const transactions: PeerTransaction[] = [];
  const rcptLog: { address: string; reply: string }[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let open = 0;
  let maxOpen = 0;
  let total = 0;

  const server: Server = createServer((plain) => {
    let socket: Socket = plain;
    let secure = false;
    sockets.add(socket);
    open++;
    total++;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => {
      sockets.delete(socket);
      open--;
    });
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let inData = false;
    let helo = '';
    let mailFrom = '';
    let rcpts: { address: string; params: string }[] = [];
    let accepted: string[] = [];
    const write = (line: string) => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    const reset = () => {
      mailFrom = '';
      rcpts = [];
      accepted = [];
    };
    const onLine = (line: string) => {
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO' || verb === 'HELO') {
        helo = line.slice(5).trim();
        reset();
        const caps = [
          'PIPELINING',
          `SIZE ${script.maxSize ?? 10485760}`,
          '8BITMIME',
          'ENHANCEDSTATUSCODES',
          ...(script.noDsn ? [] : ['DSN']),
          ...(script.tls && !secure ? ['STARTTLS'] : []),
        ];
        write(
          [
            `250-peer.test hello ${helo}`,
            ...caps.map((c, i) => (i === caps.length - 1 ? `250 ${c}` : `250-${c}`)),
          ].join('\r\n'),
        );
      } else if (verb === 'MAIL') {
        mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? '';
        write('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        const match = /<([^>]*)>(.*)$/.exec(line);
        const address = match?.[1] ?? '';
        const n = (attempts.get(address) ?? 0) + 1;
        attempts.set(address, n);
        const reply = script.rcpt?.(address, n) ?? '250 2.1.5 ok';
        rcptLog.push({ address, reply });
        rcpts.push({ address, params: (match?.[2] ?? '').trim() });
        if (reply.startsWith('2')) accepted.push(address);
        write(reply);
      } else if (verb === 'DATA') {
        if (accepted.length === 0) write('554 5.5.1 no valid recipients');
        else {
          inData = true;
          write('354 go ahead');
        }
      } else if (verb === 'STAR' && line.toUpperCase() === 'STARTTLS' && script.tls && !secure) {
        write('220 2.0.0 ready to start TLS');
        // RFC 3207 §4.2: everything before the handshake is forgotten, the client says EHLO again.
        plain.removeListener('data', onData);
        buffer = Buffer.alloc(0);
        reset();
        const secured = new TLSSocket(plain, { isServer: true, cert: script.tls.cert, key: script.tls.key });
        secured.on('error', () => undefined);
        secured.on('data', onData);
        sockets.add(secured);
        secured.on('close', () => sockets.delete(secured));
        socket = secured;
        secure = true;
      } else if (verb === 'RSET') {
        reset();
        write('250 2.0.0 ok');
      } else if (verb === 'NOOP') write('250 2.0.0 ok');
      else if (verb === 'QUIT') {
        write('221 2.0.0 bye');
        socket.end();
      } else write('502 5.5.2 not implemented');
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          const atStart = buffer.subarray(0, 3).toString() === '.\r\n';
          if (end < 0 && !atStart) return;
          const body = atStart ? Buffer.alloc(0) : buffer.subarray(0, end + 2);
          buffer = buffer.subarray(atStart ? 3 : end + 5);
          inData = false;
          const data = Buffer.from(body.toString('latin1').replace(/^\.\./gm, '.'), 'latin1');
          const transaction = { helo, tls: secure, mailFrom, rcpts, data, accepted };
          transactions.push(transaction);
          write(script.data?.(transaction) ?? `250 2.0.0 Ok: queued as PEER${transactions.length}`);
          reset();
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString('utf8');
        buffer = buffer.subarray(eol + 2);
        onLine(line);
      }
    };
    const greet = () => {
      write(script.greeting ?? '220 peer.test ESMTP scripted');
      socket.on('data', onData);
    };
    if (script.greetingDelayMs) setTimeout(greet, script.greetingDelayMs);
    else greet();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    host,
    transactions,
    rcptLog,
    maxConcurrent: () => maxOpen,
    connections: () => total,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
