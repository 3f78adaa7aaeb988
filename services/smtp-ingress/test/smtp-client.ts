import { LineClient } from '@tegami/testing';

/** Opens a session on a port and says EHLO; `tls` for the implicit-TLS listener. */
export async function ehlo(port: number, options: { tls?: boolean } = {}): Promise<LineClient> {
  const client = await LineClient.connect(port, options);
  const greeting = await client.readReply();
  if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
  const hello = await client.command('EHLO client.example.net');
  if (hello.code !== 250) throw new Error(`EHLO: ${hello.text}`);
  return client;
}

export async function authPlain(client: LineClient, user: string, password: string) {
  return client.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
}

/** Sends a whole message through DATA and returns the final reply. */
export async function sendData(client: LineClient, message: string) {
  const go = await client.command('DATA');
  if (go.code !== 354) return go;
  const stuffed = message.replace(/(^|\r\n)\./g, '$1..');
  client.write(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
  return client.readReply();
}

export const SAMPLE = 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hello\r\n\r\nHi Bob.\r\n';
