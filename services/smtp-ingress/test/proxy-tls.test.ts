import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { parseCidrList } from '@tegami/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngress, type TestIngress } from './test-ingress.js';

// Port 465 behind a PROXY-speaking load balancer: the header comes in clear before the TLS
// handshake, so with PROXY on the listener reads the header first and then starts TLS.

let t: TestIngress;

beforeAll(async () => {
  t = await startTestIngress({
    proxy: { enabled: true, trusted: parseCidrList('127.0.0.1/32'), timeoutMs: 2_000 },
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

function lines(socket: TLSSocket): () => Promise<string> {
  let buffer = '';
  const waiting: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (const wake of waiting.splice(0)) wake();
  });
  return async () => {
    for (;;) {
      const end = buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return line;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
}

describe('smtp-ingress implicit TLS with PROXY protocol', () => {
  it('reads the header in clear, then does TLS, and sees the client the header names', async () => {
    const raw = await new Promise<Socket>((resolve, reject) => {
      const s = connectTcp({ host: '127.0.0.1', port: t.ports.submissions }, () => resolve(s));
      s.once('error', reject);
    });
    raw.write(`PROXY TCP4 198.51.100.23 127.0.0.1 50000 ${t.ports.submissions}\r\n`);
    const secured = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connectTls({ socket: raw, rejectUnauthorized: false, servername: 'localhost' }, () =>
        resolve(s),
      );
      s.once('error', reject);
    });
    const readLine = lines(secured);
    expect(await readLine()).toMatch(/^220 /);
    secured.write('EHLO client.example.net\r\n');
    expect(await readLine()).toContain('Hello client.example.net [198.51.100.23]');
    secured.destroy();
  });
});
