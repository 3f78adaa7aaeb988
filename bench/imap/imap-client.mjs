// bench/imap's load generators' IMAP client (load.mjs, own-load.mjs): tagged commands, a
// non-synchronizing literal for APPEND, and literal-aware reading of the responses.
import { connect } from 'node:net';

/** A minimal IMAP client: tagged commands, literal-aware reading of the responses. */
export class ImapClient {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.waiter = undefined;
    this.tag = 0;
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.waiter?.();
    });
    socket.on('close', () => this.waiter?.());
  }

  static open(host, port) {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host, () => resolve(new ImapClient(socket)));
      socket.setNoDelay(true);
      socket.on('error', reject);
    });
  }

  /** Resolves with the bytes up to and including the line that starts with `prefix`. */
  async until(prefix) {
    let scanFrom = 0;
    for (;;) {
      let pos = scanFrom;
      while (pos < this.buffer.length) {
        const eol = this.buffer.indexOf('\r\n', pos);
        if (eol < 0) break;
        const lineStart = pos;
        const literal = /\{(\d+)\+?\}$/.exec(
          this.buffer.subarray(Math.max(lineStart, eol - 20), eol).toString('latin1'),
        );
        if (literal) {
          const end = eol + 2 + Number(literal[1]);
          if (end > this.buffer.length) break;
          pos = end; // the line goes on after the literal
          continue;
        }
        pos = eol + 2;
        if (this.buffer.subarray(lineStart, lineStart + prefix.length).toString('latin1') === prefix) {
          const out = this.buffer.subarray(0, pos);
          this.buffer = this.buffer.subarray(pos);
          return out;
        }
        scanFrom = pos;
      }
      if (this.socket.destroyed) throw new Error(`connection closed waiting for ${prefix}`);
      await new Promise((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  /** Sends one command (its literal non-synchronizing) and returns the whole response, as bytes. */
  async command(text, literal) {
    const tag = `t${++this.tag}`;
    if (literal) {
      this.socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
      this.socket.write(literal);
      this.socket.write('\r\n');
    } else {
      this.socket.write(`${tag} ${text}\r\n`);
    }
    const out = await this.until(`${tag} `);
    const previous = out.lastIndexOf('\r\n', out.length - 3);
    const last = out.subarray(previous < 0 ? 0 : previous + 2).toString('latin1');
    if (!last.startsWith(`${tag} OK`)) throw new Error(`${text.slice(0, 40)}: ${last.trim()}`);
    return out;
  }

  /** Waits for the greeting and logs in. */
  async login(user, password) {
    await this.until('* OK');
    await this.command(`LOGIN "${user}" "${password}"`);
  }
}
