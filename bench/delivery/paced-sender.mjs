// A paced SMTP sender for bench/delivery: smtp-source sends as fast as it can (its -w waits
// whole seconds), so the latency at a given rate needs this. Message i is due at
// start + i / rate; `sessions` connections take the due messages in turn, each one
// MAIL/RCPT/DATA on its open session. Prints one line: sent, late (a message that went
// out more than 50 ms after it was due: the sender, not the server, fell behind), seconds.
// Usage: node paced-sender.mjs host:port messages sessions size-bytes rate-per-second from to
import net from 'node:net';

const [target, messagesArg, sessionsArg, sizeArg, rateArg, from, to] = process.argv.slice(2);
const [host, port] = target.split(':');
const messages = Number(messagesArg);
const sessions = Number(sessionsArg);
const size = Number(sizeArg);
const rate = Number(rateArg);

const line = `${'x'.repeat(76)}\r\n`;
const body = line.repeat(Math.max(1, Math.ceil(size / line.length)));
const message = (i) =>
  Buffer.from(
    `From: <${from}>\r\nTo: <${to}>\r\nSubject: paced ${i}\r\nMessage-ID: <paced.${process.pid}.${i}@bench.test>\r\n\r\n${body}.\r\n`,
  );

/** One SMTP session: send a command (or nothing) and wait for its complete reply. */
function session() {
  const socket = net.connect(Number(port), host);
  socket.setNoDelay(true);
  let buffered = '';
  let waiting;
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    // A reply is complete at a line whose 4th character is a space ("250 ok").
    const lines = buffered.split('\r\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (lines[i][3] !== '-') {
        const reply = lines.slice(0, i + 1).join('\n');
        buffered = lines.slice(i + 1).join('\r\n');
        const w = waiting;
        waiting = undefined;
        w?.resolve(reply);
        return;
      }
    }
  });
  socket.on('error', (err) => waiting?.reject(err));
  const send = (data, expect) =>
    new Promise((resolve, reject) => {
      waiting = {
        resolve: (reply) =>
          reply.startsWith(expect) ? resolve(reply) : reject(new Error(`${data}: ${reply}`)),
        reject,
      };
      if (data !== undefined) socket.write(data);
    });
  return { send, socket };
}

const start = Date.now() + 200;
let next = 0;
let late = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker() {
  const s = session();
  await s.send(undefined, '220');
  await s.send('EHLO paced.bench.test\r\n', '250');
  while (next < messages) {
    const i = next++;
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -50) late++;
    await s.send(`MAIL FROM:<${from}>\r\n`, '250');
    await s.send(`RCPT TO:<${to}>\r\n`, '250');
    await s.send('DATA\r\n', '354');
    await s.send(message(i), '250');
  }
  await s.send('QUIT\r\n', '221');
  s.socket.end();
}

await Promise.all(Array.from({ length: sessions }, worker));
console.log(`${messages} ${late} ${((Date.now() - start) / 1000).toFixed(2)}`);
