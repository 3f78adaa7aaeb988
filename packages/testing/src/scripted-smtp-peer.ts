import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

// A remote MTA for tests: answers each RCPT (and the end of DATA) as the test script
// says, and records what it was sent. Minimal ESMTP with PIPELINING, SIZE, DSN,
// 8BITMIME, and STARTTLS when given a certificate, enough for the worker's client.

export interface PeerTransaction {
  readonly helo: string;
  readonly mailFrom: string;
  /** What followed `MAIL FROM:<...>` (e.g. "SIZE=123 REQUIRETLS"). */
  readonly mailParams: string;
  /** The transaction came over TLS (after STARTTLS). */
  readonly secure: boolean;
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
  /** Offer STARTTLS with this certificate (PEM; the chain may follow the leaf). */
  tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** More EHLO keywords, e.g. "REQUIRETLS" (RFC 8689). */
  extensions?: readonly string[];
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

  const server: Server = createServer((socket) => {
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
    // The stream the session speaks on: the socket, then the TLS socket after STARTTLS.
    let stream: Socket = socket;
    let secure = false;
    let helo = '';
    let mailFrom = '';
    let mailParams = '';
    let rcpts: { address: string; params: string }[] = [];
    let accepted: string[] = [];
    const write = (line: string) => {
      if (!stream.destroyed) stream.write(`${line}\r\n`);
    };
    const reset = () => {
      mailFrom = '';
      mailParams = '';
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
          ...(script.extensions ?? []),
        ];
        write(
          [
            `250-peer.test hello ${helo}`,
            ...caps.map((c, i) => (i === caps.length - 1 ? `250 ${c}` : `250-${c}`)),
          ].join('\r\n'),
        );
      } else if (verb === 'MAIL') {
        const match = /<([^>]*)>(.*)$/.exec(line);
        mailFrom = match?.[1] ?? '';
        mailParams = (match?.[2] ?? '').trim();
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
      } else if (verb === 'RSET') {
        reset();
        write('250 2.0.0 ok');
      } else if (line.toUpperCase() === 'STARTTLS' && script.tls && !secure) {
        write('220 2.0.0 ready to start TLS');
        startTls(script.tls);
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
          const transaction = { helo, mailFrom, mailParams, secure, rcpts, data, accepted };
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
        // RFC 3207 §4.2: nothing sent before the handshake counts after it.
        if (stream !== socket && !secure) return;
      }
    };
    const startTls = (material: NonNullable<PeerScript['tls']>) => {
      socket.removeListener('data', onData);
      buffer = Buffer.alloc(0);
      let tls: TLSSocket;
      try {
        tls = new TLSSocket(socket, { isServer: true, key: material.key, cert: material.cert });
      } catch {
        // A test's broken certificate: the client sees the connection drop.
        socket.destroy();
        return;
      }
      stream = tls;
      tls.on('error', () => socket.destroy());
      tls.once('secure', () => {
        secure = true;
        // RFC 3207 §4.2: the client starts over with EHLO.
        helo = '';
        reset();
        tls.on('data', onData);
      });
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
