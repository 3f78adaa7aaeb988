import { CHAOS_ID_HEADER, LOCAL_RECIPIENTS, REMOTE_DOMAIN, SENDER } from './accounts.js';
import type { Random } from './random.js';
import type { LoadContext, SmtpRecord } from './records.js';
import type { RunningLoad } from './running-load.js';
import { pause, REPLY_TIMEOUT_MS, Wire, WireLost } from './wire.js';

// SMTP clients for the chaos run: inbound mail on the MX listeners and authenticated
// submission on 587, each message with an X-Chaos-Id of its own. A message is recorded
// once its content has been sent, because from then on the server may have taken it;
// what the reply (or its absence) said is the client's whole knowledge of its fate.

type Listener = SmtpRecord['listener'];

export function startSmtpLoad(ctx: LoadContext, options: { concurrency: number }): RunningLoad {
  const loops: Promise<void>[] = [];
  for (let loop = 0; loop < options.concurrency; loop++) {
    const random = ctx.random.fork(`smtp-${loop}`);
    loops.push(
      runLoop(ctx, loop, random).catch((error: unknown) =>
        ctx.log(`smtp loop ${loop} failed: ${String(error)}`),
      ),
    );
  }
  const quiet = Promise.all(loops).then(() => undefined);
  return { quiet: () => quiet, finish: () => quiet };
}

async function runLoop(ctx: LoadContext, loop: number, random: Random): Promise<void> {
  const nextId = counter(`s${loop}`, random);
  while (!ctx.stopping()) {
    const listener: Listener = random.chance(0.5) ? 'mx' : 'submission';
    const ports = ctx.ports[listener];
    let completed = false;
    if (ports.length > 0) {
      try {
        completed = await session(ctx, listener, random.pick(ports), random, nextId);
      } catch (error) {
        if (!(error instanceof WireLost)) ctx.log(`smtp loop ${loop}: ${String(error)}`);
      }
    }
    await pause(completed ? random.int(0, 150) : random.int(100, 500));
  }
}

/** One connection: true when it ended with the client's QUIT, false when something failed. */
async function session(
  ctx: LoadContext,
  listener: Listener,
  port: number,
  random: Random,
  nextId: () => string,
): Promise<boolean> {
  const wire = await Wire.connect(ctx.host, port, REPLY_TIMEOUT_MS);
  try {
    const command = async (line: string) => {
      wire.write(`${line}\r\n`);
      return wire.readSmtpReply(REPLY_TIMEOUT_MS);
    };
    if ((await wire.readSmtpReply(REPLY_TIMEOUT_MS)).code !== 220) return false;
    if ((await command('EHLO chaos-client.outside.test')).code !== 250) return false;
    if (listener === 'submission') {
      const token = Buffer.from(`\0${SENDER}\0${ctx.password}`).toString('base64');
      if ((await command(`AUTH PLAIN ${token}`)).code !== 235) return false;
    }
    const messages = random.chance(0.6) ? 1 : random.int(2, 4);
    for (let m = 0; m < messages; m++) {
      if (m > 0) {
        if (ctx.stopping()) break;
        await pause(random.int(0, 150));
      }
      const sender = listener === 'mx' ? `someone-${random.int(1, 999)}@outside.test` : SENDER;
      if ((await command(`MAIL FROM:<${sender}>`)).code !== 250) return false;
      const recipients: string[] = [];
      for (const rcpt of pickRecipients(listener, random)) {
        if ((await command(`RCPT TO:<${rcpt}>`)).code === 250) recipients.push(rcpt);
      }
      if (recipients.length === 0) {
        if ((await command('RSET')).code !== 250) return false;
        continue;
      }
      if ((await command('DATA')).code !== 354) return false;
      const id = nextId();
      wire.write(`${dotStuff(message(id, sender, recipients, random))}.\r\n`);
      const record = { id, listener, sender, recipients };
      try {
        const reply = await wire.readSmtpReply(REPLY_TIMEOUT_MS);
        const outcome = reply.code === 250 ? 'ok' : 'refused';
        ctx.records.smtp.push({ ...record, outcome, reply: reply.text, at: Date.now() });
        if (reply.code >= 500 || reply.code === 421) return false;
      } catch (error) {
        ctx.records.smtp.push({ ...record, outcome: 'unknown', reply: String(error), at: Date.now() });
        throw error;
      }
    }
    await command('QUIT');
    return true;
  } finally {
    wire.close();
  }
}

function pickRecipients(listener: Listener, random: Random): string[] {
  const count = random.int(1, 3);
  const recipients = new Set<string>();
  while (recipients.size < count) {
    if (listener === 'mx' || random.chance(0.6)) {
      recipients.add(random.pick(LOCAL_RECIPIENTS));
    } else {
      const n = random.int(1, 9999);
      const kind = random.chance(0.85) ? 'ok' : random.chance(0.5) ? 'defer' : 'reject';
      recipients.add(`${kind}-${n}@${REMOTE_DOMAIN}`);
    }
  }
  return [...recipients];
}

/** A message between 200 B and 30 KB, with lines that need dot-stuffing and some up to 998 octets. */
function message(id: string, sender: string, recipients: readonly string[], random: Random): string {
  const header =
    `From: <${sender}>\r\n` +
    `To: ${recipients.map((r) => `<${r}>`).join(', ')}\r\n` +
    `Subject: chaos ${id}\r\n` +
    `Date: ${new Date().toUTCString()}\r\n` +
    `Message-ID: <${id}@chaos-client.outside.test>\r\n` +
    `${CHAOS_ID_HEADER}: ${id}\r\n` +
    '\r\n';
  const target = random.chance(0.7) ? random.int(200, 3000) : random.int(3000, 30_000);
  let body = '';
  while (header.length + body.length < target) body += `${bodyLine(random)}\r\n`;
  return header + body;
}

const TEXT = 'the quick brown fox jumps over the lazy dog 0123456789 ';

function bodyLine(random: Random): string {
  const roll = random.next();
  if (roll < 0.03) return '.';
  if (roll < 0.1) return `.${filler(random, random.int(0, 60))}`;
  if (roll < 0.15) return filler(random, random.int(200, 998));
  return filler(random, random.int(0, 76));
}

function filler(random: Random, length: number): string {
  const start = random.int(0, TEXT.length - 1);
  let text = '';
  while (text.length < length + start) text += TEXT;
  return text.slice(start, start + length);
}

/** RFC 5321 §4.5.2: a line starting with a dot gets another. */
function dotStuff(content: string): string {
  return content.replace(/^\./gm, '..');
}

/** Attempt ids `<prefix>-<n>-<random>`: the counter keeps them unique within a run. */
function counter(prefix: string, random: Random): () => string {
  let n = 0;
  return () => `${prefix}-${++n}-${random.int(0, 36 ** 5 - 1).toString(36)}`;
}
