// IMAP load for bench/imap. Modes:
//   mixed   host port clients seconds user password
//     N clients at once, each logs in and repeats a mixed session for the given time:
//     SELECT INBOX, FETCH 1:* (FLAGS UID), FETCH the newest 50 (ENVELOPE BODYSTRUCTURE),
//     FETCH one BODY[], STORE +FLAGS \Seen on one message, SEARCH UNSEEN, NOOP.
//     Prints: operations, seconds, operations per second.
//   fetchall host port user password runs
//     One client times `FETCH 1:* (FLAGS UID)` `runs` times; prints the median ms and bytes.
//   idle    host port user password sessions holdSeconds
//     Opens that many sessions, SELECTs INBOX and IDLEs in each, waits, then prints "ready"
//     and keeps them for holdSeconds (the caller measures the server's memory meanwhile).
import { ImapClient } from './imap-client.mjs';

const [mode, host, port, ...rest] = process.argv.slice(2);

/** The command, tried again (up to ten times, a second apart) while the server says try later. */
async function again(command) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command();
    } catch (err) {
      if (attempt >= 10 || !/UNAVAILABLE|SERVERBUG/.test(err.message)) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

if (mode === 'mixed') {
  const [clients, seconds, user, password] = rest;
  const deadline = Date.now() + Number(seconds) * 1000;
  let operations = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(clients) }, async () => {
      const c = await ImapClient.open(host, port);
      await c.login(user, password);
      while (Date.now() < deadline) {
        const selected = (await c.command('SELECT INBOX')).toString('latin1');
        const exists = Number(/\* (\d+) EXISTS/.exec(selected)[1]);
        await c.command('FETCH 1:* (FLAGS UID)');
        await c.command(`FETCH ${Math.max(1, exists - 49)}:${exists} (ENVELOPE BODYSTRUCTURE)`);
        const n = 1 + Math.floor(Math.random() * exists);
        await c.command(`FETCH ${n} BODY.PEEK[]`);
        await c.command(`STORE ${1 + Math.floor(Math.random() * exists)} +FLAGS.SILENT (\\Seen)`);
        await c.command('SEARCH UNSEEN');
        await c.command('NOOP');
        operations += 7;
      }
      await c.command('LOGOUT').catch(() => undefined);
      c.socket.destroy();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  console.log(`${operations} ${elapsed.toFixed(3)} ${(operations / elapsed).toFixed(1)}`);
} else if (mode === 'fetchall') {
  const [user, password, runs] = rest;
  const c = await ImapClient.open(host, port);
  await c.login(user, password);
  await c.command('SELECT INBOX');
  const times = [];
  let bytes = 0;
  for (let i = 0; i < Number(runs); i++) {
    const t = performance.now();
    bytes = (await c.command('FETCH 1:* (FLAGS UID)')).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${times[Math.floor(times.length / 2)].toFixed(1)} ${bytes}`);
  c.socket.destroy();
} else if (mode === 'idle') {
  const [user, password, sessions, hold] = rest;
  const all = [];
  for (let i = 0; i < Number(sessions); i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, Number(sessions) - i) }, async () => {
        const c = await ImapClient.open(host, port);
        await c.until('* OK');
        // A hundred logins and SELECTs at once on a busy machine may find the store's pool
        // full (NO [UNAVAILABLE] or [SERVERBUG]): again, a little later.
        await again(() => c.command(`LOGIN "${user}" "${password}"`));
        await again(() => c.command('SELECT INBOX'));
        c.socket.write('i IDLE\r\n');
        await c.until('+ ');
        return c;
      }),
    );
    all.push(...batch);
  }
  console.log('ready');
  await new Promise((r) => setTimeout(r, Number(hold) * 1000));
  for (const c of all) c.socket.destroy();
} else {
  console.error('usage: load.mjs mixed|fetchall|idle host port ...');
  process.exit(2);
}
