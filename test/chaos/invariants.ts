// The promises a chaos run checks (issue 21 §1), each from the clients' own records
// against the quiet store at the end. A violation names the invariant and the evidence.

import type { PeerTransaction } from '@tegami/testing';
import { IMAP_USERS, MAIL_USERS, POP_USERS, REMOTE_DOMAIN, SENDER } from './accounts.js';
import type { FaultEvent } from './faults.js';
import type { ChaosRecords, ImapStateObservation, PopSessionRecord } from './records.js';
import type { SnapshotMailbox, StoreSnapshot } from './store-snapshot.js';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

export interface CheckInput {
  readonly records: ChaosRecords;
  readonly store: StoreSnapshot;
  /** What the scripted remote MX accepted. */
  readonly remote: readonly PeerTransaction[];
  readonly faults: readonly FaultEvent[];
}

export interface CheckSummary {
  readonly violations: Violation[];
  /** Facts for the report that are no violation (e.g. duplicates SMTP itself allows). */
  readonly notes: string[];
  readonly counts: Record<string, number>;
}

export function checkInvariants(input: CheckInput): CheckSummary {
  const violations: Violation[] = [];
  const notes: string[] = [];
  const counts: Record<string, number> = {};
  const fail = (invariant: string, detail: string) => {
    if (violations.filter((v) => v.invariant === invariant).length < 20)
      violations.push({ invariant, detail });
    else counts[`more violations: ${invariant}`] = (counts[`more violations: ${invariant}`] ?? 0) + 1;
  };
  checkSmtp(input, fail, notes, counts);
  checkImap(input, fail, counts);
  checkPop(input, fail, counts);
  return { violations, notes, counts };
}

type Fail = (invariant: string, detail: string) => void;

/** How many copies of each X-Chaos-Id a set of mailboxes holds. */
function copies(mailboxes: readonly (SnapshotMailbox | undefined)[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const box of mailboxes)
    for (const m of box?.messages ?? []) if (m.id) n.set(m.id, (n.get(m.id) ?? 0) + 1);
  return n;
}

function checkSmtp(input: CheckInput, fail: Fail, notes: string[], counts: Record<string, number>): void {
  const { records, store } = input;
  const inbox = new Map<string, Map<string, number>>();
  for (const user of [...MAIL_USERS, ...IMAP_USERS]) inbox.set(user, copies([store.mailbox(user, 'INBOX')]));
  // A POP3 user's copies are told apart by UIDL: those retrieved (and perhaps deleted)
  // during the run and those still in the INBOX.
  for (const user of POP_USERS) {
    const box = store.mailbox(user, 'INBOX');
    const uidls = new Map<string, Set<string>>();
    const add = (id: string, uidl: string) => {
      if (!uidls.has(id)) uidls.set(id, new Set());
      uidls.get(id)!.add(uidl);
    };
    for (const session of records.pop.filter((s) => s.user === user))
      for (const r of session.retrieved) add(r.id, r.uidl);
    for (const m of box?.messages ?? []) if (m.id) add(m.id, `${box!.uidValidity}.${m.uid}`);
    inbox.set(user, new Map([...uidls].map(([id, set]) => [id, set.size])));
  }
  const remote = new Map<string, { count: number; at: number[] }>();
  for (const t of input.remote) {
    const id = /^x-chaos-id:[ \t]*(\S+)/im.exec(t.data.toString('latin1').split(/\r?\n\r?\n/)[0] ?? '')?.[1];
    if (!id) continue;
    for (const rcpt of t.accepted) {
      const key = `${id} ${rcpt.toLowerCase()}`;
      const entry = remote.get(key) ?? { count: 0, at: [] };
      entry.count++;
      remote.set(key, entry);
    }
  }
  const dsnText = (store.mailbox(SENDER, 'INBOX')?.messages ?? []).map((m) => m.raw ?? '');
  const known = new Set(records.smtp.map((r) => r.id));

  for (const r of records.smtp) {
    counts[`smtp ${r.outcome}`] = (counts[`smtp ${r.outcome}`] ?? 0) + 1;
    for (const rcpt of r.recipients) {
      const address = rcpt.toLowerCase();
      if (address.endsWith(`@${REMOTE_DOMAIN}`)) {
        const delivered = remote.get(`${r.id} ${address}`)?.count ?? 0;
        const rejected = address.startsWith('reject-');
        const dsns = rejected
          ? dsnText.filter((text) => text.includes(r.id) && text.includes(address)).length
          : 0;
        if (r.outcome === 'ok') {
          if (rejected && dsns !== 1)
            fail('a 250 for a rejected recipient gives one DSN', `${r.id} to ${address}: ${dsns} DSNs`);
          if (!rejected && delivered === 0)
            fail('a 250 is delivered to each recipient', `${r.id} never reached ${address}`);
          if (delivered > 1) {
            // RFC 5321 §6.1 allows this one duplicate: the peer said 250 and the worker
            // died (or lost its store) before it could write the delivery down.
            counts['remote duplicates'] = (counts['remote duplicates'] ?? 0) + 1;
            notes.push(
              `${r.id} reached ${address} ${delivered} times (peer's 250 lost to a fault before it was recorded)`,
            );
          }
        } else if (delivered > 1 || dsns > 1) {
          fail(
            'nothing refused or unanswered arrives twice',
            `${r.id} (${r.outcome}) reached ${address} ${delivered}×`,
          );
        }
        continue;
      }
      const n = inbox.get(address)?.get(r.id) ?? 0;
      if (r.outcome === 'ok' && n !== 1)
        fail(
          'a 250 is delivered exactly once to each recipient',
          `${r.id} is in ${address}'s INBOX ${n} times`,
        );
      if (r.outcome !== 'ok' && n > 1)
        fail(
          'nothing refused or unanswered arrives twice',
          `${r.id} (${r.outcome}: ${r.reply}) is in ${address} ${n} times`,
        );
      if (r.outcome === 'refused' && n === 1)
        counts['smtp refused yet delivered'] = (counts['smtp refused yet delivered'] ?? 0) + 1;
      if (r.outcome === 'unknown' && n === 1)
        counts['smtp unanswered, delivered'] = (counts['smtp unanswered, delivered'] ?? 0) + 1;
    }
  }
  // Each such duplicate needs a fault that can lose a reply already given: a worker
  // stopped, or its store gone, between the peer's 250 and the record of it.
  const canDuplicate = input.faults.filter(
    (f) => f.target.startsWith('delivery-worker') || f.kind.startsWith('postgres') || f.kind === 'disk-full',
  ).length;
  if ((counts['remote duplicates'] ?? 0) > canDuplicate)
    fail(
      'a 250 is delivered exactly once to each recipient',
      `${counts['remote duplicates']} remote duplicates, only ${canDuplicate} faults that could cause one`,
    );
  for (const [user, ids] of inbox)
    for (const id of ids.keys())
      if (id.startsWith('s') && !known.has(id))
        fail('no mail comes from nowhere', `${user} holds ${id}, never sent`);
}

function checkImap(input: CheckInput, fail: Fail, counts: Record<string, number>): void {
  const { records, store } = input;
  for (const user of IMAP_USERS) {
    const kept = copies([store.mailbox(user, 'Work'), store.mailbox(user, 'Moved')]);
    const work = copies([store.mailbox(user, 'Work')]);
    const expunged = new Map<string, 'ok' | 'unknown' | 'refused'>();
    for (const e of records.expunges.filter((x) => x.user === user))
      for (const id of e.ids) if (expunged.get(id) !== 'ok') expunged.set(id, e.outcome);
    for (const a of records.appends.filter((x) => x.user === user)) {
      counts[`append ${a.outcome}`] = (counts[`append ${a.outcome}`] ?? 0) + 1;
      const n = kept.get(a.id) ?? 0;
      const gone = expunged.get(a.id);
      if (n > 1)
        fail(
          'an APPEND is stored at most once (MOVE never doubles it)',
          `${a.id} (${a.outcome}) is in ${user}'s Work ∪ Moved ${n}×`,
        );
      if (a.outcome === 'ok' && n === 0 && gone !== 'ok' && gone !== 'unknown')
        fail(
          'every APPEND that got OK is present',
          `${a.id} of ${user} is gone${gone === 'refused' ? ': an EXPUNGE of it answered NO, yet removed it' : ', never expunged'}`,
        );
      // Another session may have moved it between the \\Deleted and the EXPUNGE: then it is
      // in Moved, rightly; only Work must have lost it.
      if (gone === 'ok' && (work.get(a.id) ?? 0) > 0)
        fail('an EXPUNGE that got OK removed the messages', `${a.id} of ${user} is still in Work`);
    }
  }
  // One UID, one message, under one UIDVALIDITY: as the clients saw it, and as the store has it now.
  const seen = new Map<string, string>();
  for (const o of records.uids) {
    const key = `${o.user} ${o.mailbox} ${o.uidValidity} ${o.uid}`;
    const before = seen.get(key);
    if (before !== undefined && before !== o.id)
      fail('a UID is never reused under one UIDVALIDITY', `${key} was ${before}, then ${o.id}`);
    seen.set(key, o.id);
  }
  for (const box of store.mailboxes) {
    let last = 0;
    for (const m of box.messages) {
      if (m.uid <= last || m.uid >= box.uidNext)
        fail(
          'UIDs strictly increase below UIDNEXT',
          `${box.user} ${box.name}: UID ${m.uid} after ${last}, UIDNEXT ${box.uidNext}`,
        );
      last = m.uid;
      const before = seen.get(`${box.user} ${box.name} ${box.uidValidity} ${m.uid}`);
      if (before !== undefined && m.id !== undefined && before !== m.id)
        fail(
          'a UID is never reused under one UIDVALIDITY',
          `${box.user} ${box.name} UID ${m.uid} was ${before}, is ${m.id}`,
        );
    }
  }
  checkMonotonic(records.states, store, fail);
  for (const view of records.views) {
    counts['session views checked'] = (counts['session views checked'] ?? 0) + 1;
    const box = store.mailbox(view.user, view.mailbox);
    if (!box || box.uidValidity !== view.uidValidity) {
      fail(
        "every session's view matches the store",
        `${view.user} ${view.mailbox}: UIDVALIDITY ${view.uidValidity}, store ${box?.uidValidity}`,
      );
      continue;
    }
    const uids = box.messages.map((m) => m.uid);
    if (uids.join(',') !== view.uids.join(',')) {
      fail(
        "every session's view matches the store",
        `${view.user} ${view.mailbox}: session ${view.uids.length} UIDs, store ${uids.length}; ` +
          `only in session ${view.uids.filter((u) => !uids.includes(u)).slice(0, 10)}, only in store ${uids.filter((u) => !view.uids.includes(u)).slice(0, 10)}`,
      );
      continue;
    }
    for (const m of box.messages) {
      const mine = (view.flags.get(m.uid) ?? []).filter((f) => f !== '\\Recent').join(' ');
      const stored = m.flags.filter((f) => f !== '\\Recent').join(' ');
      if (mine !== stored) {
        fail(
          "every session's view matches the store",
          `${view.user} ${view.mailbox} UID ${m.uid}: session (${mine}), store (${stored})`,
        );
        break;
      }
    }
  }
}

/** HIGHESTMODSEQ and UIDNEXT never go down: an observation begun after another ended is not lower. */
function checkMonotonic(states: readonly ImapStateObservation[], store: StoreSnapshot, fail: Fail): void {
  const groups = new Map<string, ImapStateObservation[]>();
  for (const s of states) {
    const key = `${s.user} ${s.mailbox} ${s.uidValidity}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(s);
  }
  for (const [key, list] of groups) {
    const byEnd = [...list].sort((a, b) => a.end - b.end);
    const byStart = [...list].sort((a, b) => a.start - b.start);
    let i = 0;
    let maxModseq = 0n;
    let maxUidNext = 0;
    let modseqFrom: ImapStateObservation | undefined;
    let uidNextFrom: ImapStateObservation | undefined;
    for (const o of byStart) {
      while (i < byEnd.length && byEnd[i]!.end < o.start) {
        const done = byEnd[i++]!;
        if (done.highestModseq > maxModseq) [maxModseq, modseqFrom] = [done.highestModseq, done];
        if (done.uidNext > maxUidNext) [maxUidNext, uidNextFrom] = [done.uidNext, done];
      }
      if (o.highestModseq > 0n && o.highestModseq < maxModseq)
        fail(
          'MODSEQ never decreases',
          `${key}: ${o.highestModseq} at ${o.start}, after ${maxModseq} at ${modseqFrom?.end}`,
        );
      if (o.uidNext < maxUidNext)
        fail(
          'UIDNEXT never decreases',
          `${key}: ${o.uidNext} at ${o.start}, after ${maxUidNext} at ${uidNextFrom?.end}`,
        );
    }
    const [user, mailbox] = key.split(' ');
    const box = store.mailbox(user!, mailbox!);
    if (box && `${box.uidValidity}` === key.split(' ')[2]) {
      const last = byEnd.at(-1)!;
      if (box.highestModseq < maxModseq || box.uidNext < maxUidNext)
        fail(
          'MODSEQ never decreases',
          `${key}: store ends at ${box.highestModseq}/${box.uidNext}, clients saw ${maxModseq}/${maxUidNext} (${last.end})`,
        );
    }
  }
}

function checkPop(input: CheckInput, fail: Fail, counts: Record<string, number>): void {
  for (const user of POP_USERS) {
    const sessions = input.records.pop
      .filter((s) => s.user === user && s.uidlsAtLogin !== undefined)
      .sort((a, b) => a.start - b.start);
    const box = input.store.mailbox(user, 'INBOX');
    const final = (box?.messages ?? []).map((m) => `${box!.uidValidity}.${m.uid}`);
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i]!;
      counts[`pop quit ${s.quit}`] = (counts[`pop quit ${s.quit}`] ?? 0) + 1;
      const next = new Set(sessions[i + 1]?.uidlsAtLogin ?? final);
      const label = `${user} session at ${s.start} (quit ${s.quit})`;
      checkPopSession(s, next, label, fail);
    }
  }
}

function checkPopSession(s: PopSessionRecord, next: ReadonlySet<string>, label: string, fail: Fail): void {
  const deleted = new Set(s.deleted);
  const removed = s.deleted.filter((u) => !next.has(u));
  for (const uidl of s.uidlsAtLogin ?? [])
    if (!deleted.has(uidl) && !next.has(uidl))
      fail('POP3 removes only what was deleted', `${label}: ${uidl} vanished`);
  if (s.quit === 'ok' && removed.length !== s.deleted.length)
    fail(
      'DELE + QUIT removed exactly those messages',
      `${label}: ${s.deleted.length - removed.length} of ${s.deleted.length} still there`,
    );
  if (s.quit === 'refused' && removed.length > 0)
    fail('an interrupted POP3 session removes nothing', `${label}: removed ${removed.length}`);
  if (s.quit === 'unknown' && removed.length > 0 && removed.length !== s.deleted.length)
    fail(
      'a POP3 session removes all it deleted or nothing',
      `${label}: removed ${removed.length} of ${s.deleted.length}`,
    );
}
