// THREAD=REFERENCES (RFC 5256 §4, after Jamie Zawinski's algorithm): threads from the
// Message-ID, References and In-Reply-To fields, then joined by base subject. The steps
// are the RFC's, lettered as it letters them. Containers hold a message or are dummies
// (an ID that only others refer to). Children are Sets while links move (step A), so
// unlinking is O(1); loop checks walk up the parents. Nothing recurses: a References
// chain may be thousands long.

import { baseSubject } from './base-subject.js';
import { asciiCasemap, type SortableMessage, sentDate } from './sort-keys.js';
import { preorder, type ThreadNode } from './thread-tree.js';

export interface ThreadableMessage extends SortableMessage {
  /** The References field as written (unfolded), or null when the message has none. */
  readonly references: string | null;
}

interface Container<M> extends ThreadNode<M> {
  children: Container<M>[];
  parent: Container<M> | undefined;
  /** The children while step A links and unlinks. */
  kids: Set<Container<M>>;
  /** Sent date (§2.2) and sequence number of the message; a dummy's are its first child's. */
  date: number;
  seq: number;
  subject: string;
  replyOrForward: boolean;
}

/**
 * The msg-ids in a References, In-Reply-To or Message-ID field, `<left@right>` with any
 * whitespace inside removed; anything without an "@" between the brackets is not one.
 */
export function messageIdsIn(field: string | null | undefined): string[] {
  if (!field) return [];
  const ids: string[] = [];
  for (const match of field.matchAll(/<([^<>]*)>/g)) {
    const id = match[1]!.replace(/[ \t\r\n]+/g, '');
    const at = id.lastIndexOf('@');
    if (at > 0 && at < id.length - 1) ids.push(`<${id}>`);
  }
  return ids;
}

/** The threads of these messages (given in sequence number order), roots in sent date order. */
export function threadByReferences<M extends ThreadableMessage>(messages: readonly M[]): ThreadNode<M>[] {
  const byId = new Map<string, Container<M>>();
  const all: Container<M>[] = [];
  const container = (message: M | undefined): Container<M> => {
    const made: Container<M> = {
      message,
      children: [],
      parent: undefined,
      kids: new Set(),
      date: 0,
      seq: 0,
      subject: '',
      replyOrForward: false,
    };
    all.push(made);
    return made;
  };
  const forId = (id: string): Container<M> => {
    let found = byId.get(id);
    if (!found) {
      found = container(undefined);
      byId.set(id, found);
    }
    return found;
  };

  // (A) Link every message to its references, in sequence number order.
  for (const message of messages) {
    const id = messageIdsIn(message.envelope.messageId)[0];
    let own = id === undefined ? undefined : byId.get(id);
    if (id !== undefined && own === undefined) own = forId(id);
    // (A.1) An ID seen on an earlier message is that message's: a duplicate counts as none.
    if (own === undefined || own.message !== undefined) own = container(message);
    own.message = message;
    const subject = baseSubject(message.envelope.subject);
    own.date = sentDate(message);
    own.seq = message.seq;
    own.subject = asciiCasemap(subject.text);
    own.replyOrForward = subject.replyOrForward;

    let refs = messageIdsIn(message.references);
    if (refs.length === 0) refs = messageIdsIn(message.envelope.inReplyTo).slice(0, 1);
    // (A.2) Chain the references in order; links already made stay, loops are not made.
    for (let i = 0; i + 1 < refs.length; i++) {
      const parent = forId(refs[i]!);
      const child = forId(refs[i + 1]!);
      if (child.parent === undefined && !wouldLoop(parent, child)) link(parent, child);
    }
    // (A.3) The last reference is the message's parent, whatever parent it had; none: a root.
    unlink(own);
    const last = refs.at(-1);
    if (last !== undefined) {
      const parent = forId(last);
      if (!wouldLoop(parent, own)) link(parent, own);
    }
  }
  for (const c of all) c.children = [...c.kids];

  // (B) The root set; (C) dummies pruned.
  let roots = pruneDummies(all.filter((c) => c.parent === undefined));

  // (D) The roots in sent date order (a dummy goes by its first child's).
  sortLevel(roots, true);

  // (E) Threads whose first messages share a base subject are joined.
  roots = joinBySubject(roots);

  // (F) Every level in sent date order.
  const nodes = preorder(roots) as Container<M>[];
  for (let i = nodes.length - 1; i >= 0; i--) sortLevel(nodes[i]!.children, false);
  sortLevel(roots, false);
  return roots;
}

function link<M>(parent: Container<M>, child: Container<M>): void {
  child.parent = parent;
  parent.kids.add(child);
}

function unlink<M>(child: Container<M>): void {
  child.parent?.kids.delete(child);
  child.parent = undefined;
}

/** Making `child` a child of `parent` closes a loop: it is `parent` or one of its ancestors. */
function wouldLoop<M>(parent: Container<M>, child: Container<M>): boolean {
  for (let at: Container<M> | undefined = parent; at; at = at.parent) if (at === child) return true;
  return false;
}

/**
 * (C) Below the root a dummy goes, its children taking its place among its siblings (none
 * left: it just goes). At the root a childless dummy goes, one with one child gives way to
 * it, and one with several stays (they share a missing parent).
 */
function pruneDummies<M>(roots: Container<M>[]): Container<M>[] {
  const nodes = preorder(roots) as Container<M>[];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.children.some((c) => c.message === undefined)) continue;
    const kept: Container<M>[] = [];
    for (const child of node.children) {
      if (child.message !== undefined) kept.push(child);
      else for (const grandchild of child.children) kept.push(adopt(node, grandchild));
    }
    node.children = kept;
  }
  const kept: Container<M>[] = [];
  for (const root of roots) {
    if (root.message !== undefined || root.children.length > 1) kept.push(root);
    else if (root.children.length === 1) kept.push(adopt(undefined, root.children[0]!));
  }
  return kept;
}

function adopt<M>(parent: Container<M> | undefined, child: Container<M>): Container<M> {
  child.parent = parent;
  return child;
}

/**
 * Sorts siblings by sent date, then sequence number; a dummy takes its first child's
 * (its children are sorted first: `dummiesFirst` does that for a level not yet sorted below).
 */
function sortLevel<M>(level: Container<M>[], dummiesFirst: boolean): void {
  for (const node of level) {
    if (node.message !== undefined || node.children.length === 0) continue;
    if (dummiesFirst) sortLevel(node.children, false);
    node.date = node.children[0]!.date;
    node.seq = node.children[0]!.seq;
  }
  level.sort((a, b) => a.date - b.date || a.seq - b.seq);
}

/** (E) Joins root threads by the base subject of their first messages. */
function joinBySubject<M>(roots: Container<M>[]): Container<M>[] {
  const messageOf = (root: Container<M>) => (root.message !== undefined ? root : root.children[0]!);
  // (E.1–3) One root per subject: a dummy over a message, a message that is not a reply
  // or forward over one that is, else the first in (D)'s order.
  const table = new Map<string, Container<M>>();
  for (const root of roots) {
    const subject = messageOf(root).subject;
    if (subject === '') continue;
    const held = table.get(subject);
    if (
      !held ||
      (root.message === undefined && held.message !== undefined) ||
      (root.message !== undefined &&
        held.message !== undefined &&
        held.replyOrForward &&
        !root.replyOrForward)
    ) {
      table.set(subject, root);
    }
  }
  // (E.4) Every other root with that subject joins the one in the table.
  const gone = new Set<Container<M>>();
  const replaced = new Map<Container<M>, Container<M>>();
  for (const root of roots) {
    if (gone.has(root)) continue;
    const subject = messageOf(root).subject;
    if (subject === '') continue;
    const held = table.get(subject)!;
    if (held === root) continue;
    if (held.message === undefined && root.message === undefined) {
      for (const child of root.children) held.children.push(adopt(held, child));
      gone.add(root);
    } else if (held.message === undefined) {
      held.children.push(adopt(held, root));
      gone.add(root);
    } else if (root.message === undefined) {
      root.children.push(adopt(root, held));
      table.set(subject, root);
      gone.add(held);
    } else if (!held.replyOrForward && root.replyOrForward) {
      held.children.push(adopt(held, root));
      gone.add(root);
    } else {
      // Both replies, or neither: siblings under a new dummy, not one the other's parent.
      const dummy: Container<M> = {
        message: undefined,
        children: [held, root],
        parent: undefined,
        kids: new Set(),
        date: held.date,
        seq: held.seq,
        subject: '',
        replyOrForward: false,
      };
      held.parent = dummy;
      root.parent = dummy;
      table.set(subject, dummy);
      replaced.set(held, dummy);
      gone.add(root);
    }
  }
  return roots.filter((r) => !gone.has(r)).map((r) => replaced.get(r) ?? r);
}
