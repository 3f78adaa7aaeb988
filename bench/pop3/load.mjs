// POP3 load: N clients at once, each logs in as its own user `logins` times one after the
// other, and in each session STATs, RETRs every message of its maildrop and QUITs (no
// DELE: every session sees the same messages). Prints: messages, bytes, seconds, messages
// per second over the whole run (logins included), median login time in ms (connect to
// PASS accepted), and messages per second of the downloads alone (the sum of each
// session's own rate from PASS accepted to QUIT answered, over the sessions of one client).
// Usage: node load.mjs host port clients user-prefix password [logins] [first-user]
import { connect } from 'node:net';

const [host, port, clients, prefix, password, loginsArg, firstArg] = process.argv.slice(2);
const loginsPerClient = Number(loginsArg ?? 1);
const first = Number(firstArg ?? 0);

function session(user) {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host);
    let buffer = Buffer.alloc(0);
    let step = 'greeting';
    let count = 0;
    let next = 1;
    let bytes = 0;
    const connected = performance.now();
    let loggedIn = 0;
    socket.on('error', reject);
    const send = (line) => socket.write(`${line}\r\n`);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (step === 'retr') {
          // +OK line, then the body up to CRLF.CRLF
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          if (!buffer.subarray(0, 3).equals(Buffer.from('+OK'))) return reject(new Error(buffer.toString()));
          bytes += end;
          buffer = buffer.subarray(end + 5);
          if (next > count) {
            step = 'quit';
            send('QUIT');
          } else send(`RETR ${next++}`);
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString();
        buffer = buffer.subarray(eol + 2);
        if (!line.startsWith('+OK')) return reject(new Error(`${user}: ${line}`));
        if (step === 'greeting') {
          step = 'user';
          send(`USER ${user}`);
        } else if (step === 'user') {
          step = 'pass';
          send(`PASS ${password}`);
        } else if (step === 'pass') {
          loggedIn = performance.now();
          step = 'stat';
          send('STAT');
        } else if (step === 'stat') {
          count = Number(line.split(' ')[1]);
          if (count === 0) {
            step = 'quit';
            send('QUIT');
          } else {
            step = 'retr';
            send(`RETR ${next++}`);
          }
        } else if (step === 'quit') {
          const done = performance.now();
          // The next login of this client starts once this connection is closed, as a
          // client that polls does (and the server's per-address limit sees).
          socket.on('close', () =>
            resolve({ count, bytes, loginMs: loggedIn - connected, downloadMs: done - loggedIn }),
          );
          socket.end();
          return;
        }
      }
    });
  });
}

const started = process.hrtime.bigint();
async function client(user) {
  const sessions = [];
  for (let n = 0; n < loginsPerClient; n++) sessions.push(await session(user));
  return sessions;
}

const results = (
  await Promise.all(
    Array.from({ length: Number(clients) }, (_, i) => client(`${prefix}${first + i}@bench.test`)),
  )
).flat();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const messages = results.reduce((a, r) => a + r.count, 0);
const bytes = results.reduce((a, r) => a + r.bytes, 0);
const logins = results.map((r) => r.loginMs).sort((a, b) => a - b);
const loginP50 = logins[Math.floor(logins.length / 2)];
// Sessions of one client follow one another: the clients' rates add up, not the sessions'.
const downloadRate = results.reduce((a, r) => a + r.count / (r.downloadMs / 1000), 0) / loginsPerClient;
console.log(
  `${messages} ${bytes} ${seconds.toFixed(3)} ${(messages / seconds).toFixed(1)} ${loginP50.toFixed(1)} ${downloadRate.toFixed(1)}`,
);
