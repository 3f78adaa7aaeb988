import { CHAOS_ID_HEADER, IMAP_MAILBOXES } from './accounts.js';
import {
  ImapConnection as Connection,
  ConnectionLost,
  type ImapConnection,
  type TaggedAnswer,
} from './imap-session.js';
import { MailboxView } from './imap-view.js';
import type { Random } from './random.js';
import type { LoadContext, Outcome } from './records.js';

// One IMAP session of the chaos load: its connection, its selected mailbox's view and the
// commands that keep both in step. The operations that use it are in imap-operations.ts.

/** Users whose Work/Moved/Copies exist (CREATE answered), shared by all sessions of a load. */
export type CreatedMailboxes = Set<string>;

export class ImapWorker {
  connection: ImapConnection | undefined;
  view: MailboxView | undefined;
  /** The mailbox to select after a reconnect: the one last chosen. */
  mailbox: 'INBOX' | 'Work';
  readonly oddities: string[] = [];
  /** The first few NO/BAD answers, for the report. */
  readonly refusals: string[] = [];
  counts = { connects: 0, lost: 0, commands: 0, refused: 0 };
  private appendCount = 0;

  constructor(
    readonly ctx: LoadContext,
    readonly user: string,
    readonly label: string,
    readonly random: Random,
    private readonly created: CreatedMailboxes,
  ) {
    this.mailbox = random.chance(0.5) ? 'INBOX' : 'Work';
  }

  /** Connects to a live gateway, logs in, creates the mailboxes once, and selects `mailbox`. */
  async open(): Promise<void> {
    const ports = this.ctx.ports.imap;
    if (ports.length === 0) throw new ConnectionLost('no imap port');
    const port = this.random.pick(ports);
    this.counts.connects++;
    const connection = await Connection.open(this.ctx.host, port);
    this.connection = connection;
    this.view = undefined;
    connection.onUntagged = (response) => this.untagged(response.text, response);
    const login = await this.run(`LOGIN ${quote(this.user)} ${quote(this.ctx.password)}`);
    if (login.status !== 'OK') throw new ConnectionLost(`LOGIN ${login.status} ${login.text}`);
    if (!this.created.has(this.user)) {
      let done = true;
      for (const name of IMAP_MAILBOXES) {
        const created = await this.run(`CREATE ${name}`);
        // NO [ALREADYEXISTS] is the expected answer from the second session on.
        if (created.status !== 'OK' && !/ALREADYEXISTS/i.test(created.text)) done = false;
      }
      if (done) this.created.add(this.user);
    }
    await this.run('ENABLE CONDSTORE');
    await this.select(this.mailbox);
  }

  /** Drops the connection (after a loss) so that the next step reconnects. */
  drop(): void {
    this.connection?.close();
    this.connection = undefined;
    this.view = undefined;
  }

  /** A command on the live connection; ConnectionLost when there is none or it dies. */
  async run(command: string, literal?: Buffer): Promise<TaggedAnswer> {
    const connection = this.connection;
    if (!connection || connection.closed) throw new ConnectionLost('not connected');
    this.counts.commands++;
    const answer = await connection.command(command, literal);
    if (answer.status !== 'OK') {
      this.counts.refused++;
      if (this.refusals.length < 5)
        this.refusals.push(`${command.split(' ', 2).join(' ')} → ${answer.status} ${answer.text}`);
    }
    return answer;
  }

  async idle(ms: number): Promise<TaggedAnswer> {
    const connection = this.connection;
    if (!connection || connection.closed) throw new ConnectionLost('not connected');
    this.counts.commands++;
    return connection.idle(ms, () => this.ctx.stopping());
  }

  /** SELECT … (CONDSTORE) with a fresh view; records the state it reported. */
  async select(mailbox: 'INBOX' | 'Work'): Promise<boolean> {
    this.mailbox = mailbox;
    const view = new MailboxView(mailbox);
    this.view = view;
    const start = Date.now();
    const answer = await this.run(`SELECT ${mailbox} (CONDSTORE)`);
    if (answer.status !== 'OK') {
      // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
      this.view = undefined;
      return false;
    }
    if (view.uidValidity > 0 && view.uidNext > 0) {
      this.ctx.records.states.push({
        user: this.user,
        mailbox,
        uidValidity: view.uidValidity,
        uidNext: view.uidNext,
        highestModseq: view.highestModseq,
        start,
        end: Date.now(),
      });
    } else {
      this.oddities.push(`SELECT ${mailbox} OK without UIDVALIDITY/UIDNEXT`);
    }
    await this.fetchUnknown();
    return true;
  }

  /** FETCHes UID, FLAGS and X-Chaos-Id of the messages the view has only heard EXISTS of. */
  async fetchUnknown(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const range = this.view?.unknownRange();
      if (!range) return;
      await this.run(
        `FETCH ${range[0]}:${range[1]} (UID FLAGS BODY.PEEK[HEADER.FIELDS (${CHAOS_ID_HEADER})])`,
      );
    }
  }

  /** STATUS of a mailbox other than the selected one, recorded as a state observation. */
  async status(mailbox: string): Promise<void> {
    const start = Date.now();
    let seen: { uidNext: number; uidValidity: number; highestModseq: bigint } | undefined;
    const previous = this.connection!.onUntagged;
    this.connection!.onUntagged = (response) => {
      const m = /^\* STATUS (?:"([^"]*)"|(\S+)) \((.*)\)$/i.exec(response.text);
      if (m && (m[1] ?? m[2]) === mailbox) {
        const item = (name: string) => new RegExp(`${name} (\\d+)`, 'i').exec(m[3]!)?.[1];
        seen = {
          uidNext: Number(item('UIDNEXT') ?? 0),
          uidValidity: Number(item('UIDVALIDITY') ?? 0),
          highestModseq: BigInt(item('HIGHESTMODSEQ') ?? 0),
        };
      } else {
        previous(response);
      }
    };
    try {
      const answer = await this.run(`STATUS ${mailbox} (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`);
      if (answer.status === 'OK' && seen && seen.uidValidity > 0) {
        this.ctx.records.states.push({ user: this.user, mailbox, ...seen, start, end: Date.now() });
      }
    } finally {
      if (this.connection) this.connection.onUntagged = previous;
    }
  }

  /** APPENDs a new message with a fresh X-Chaos-Id to Work and records how it ended. */
  async append(): Promise<void> {
    const id = `${this.label}-a${++this.appendCount}`;
    const message = [
      `From: <${this.user}>`,
      `To: <${this.user}>`,
      `Subject: chaos append ${id}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${id}@chaos.test>`,
      `${CHAOS_ID_HEADER}: ${id}`,
      '',
      `Appended by ${this.label}.`,
      '',
    ].join('\r\n');
    const flags = this.random.chance(0.3) ? '(\\Seen) ' : '';
    await this.recorded(
      () => this.run(`APPEND Work ${flags}`.trimEnd(), Buffer.from(message)),
      (outcome) =>
        this.ctx.records.appends.push({ user: this.user, mailbox: 'Work', id, outcome, at: Date.now() }),
    );
  }

  /**
   * Runs a command whose outcome is recorded: ok/refused from the tagged answer, unknown
   * when the connection was lost first (then the loss is thrown on, so the loop reconnects).
   */
  async recorded(
    send: () => Promise<TaggedAnswer>,
    record: (outcome: Outcome) => void,
  ): Promise<TaggedAnswer> {
    let answer: TaggedAnswer;
    try {
      answer = await send();
    } catch (error) {
      if (error instanceof ConnectionLost) record('unknown');
      throw error;
    }
    record(answer.status === 'OK' ? 'ok' : 'refused');
    return answer;
  }

  private untagged(text: string, response: Parameters<MailboxView['apply']>[0]): void {
    const view = this.view;
    if (!view) return;
    const fetched = view.apply(response);
    if (fetched?.uid !== undefined && fetched.id !== undefined) {
      this.ctx.records.uids.push({
        user: this.user,
        mailbox: view.mailbox,
        uidValidity: view.uidValidity,
        uid: fetched.uid,
        id: fetched.id,
      });
    }
    if (view.oddities.length > 0) {
      for (const odd of view.oddities.splice(0)) {
        this.oddities.push(odd);
        this.ctx.log(`imap ${this.label}: odd server response: ${odd} (${text.slice(0, 120)})`);
      }
    }
  }
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
