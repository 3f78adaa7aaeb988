// THREAD=ORDEREDSUBJECT (RFC 5256 §4, "poor man's threading"): the messages sorted by base
// subject and then sent date; each run with one base subject is a thread whose first
// message is the parent of all the others (siblings in sent date order); the threads are
// in the sent date order of their first messages. Ties go by sequence number (§3).

import { baseSubject } from './base-subject.js';
import { asciiCasemap, compareCodePoints, type SortableMessage, sentDate } from './sort-keys.js';
import type { ThreadNode } from './thread-tree.js';

export function threadByOrderedSubject<M extends SortableMessage>(messages: readonly M[]): ThreadNode<M>[] {
  const keyed = messages.map((message) => ({
    message,
    subject: asciiCasemap(baseSubject(message.envelope.subject).text),
    date: sentDate(message),
  }));
  const byDate = (a: (typeof keyed)[number], b: (typeof keyed)[number]) =>
    a.date - b.date || a.message.seq - b.message.seq;
  keyed.sort((a, b) => compareCodePoints(a.subject, b.subject) || byDate(a, b));
  const threads: { first: (typeof keyed)[number]; node: ThreadNode<M> }[] = [];
  let current: { first: (typeof keyed)[number]; node: ThreadNode<M> } | undefined;
  for (const entry of keyed) {
    if (current && current.first.subject === entry.subject) {
      current.node.children.push({ message: entry.message, children: [] });
      continue;
    }
    current = { first: entry, node: { message: entry.message, children: [] } };
    threads.push(current);
  }
  threads.sort((a, b) => byDate(a.first, b.first));
  return threads.map((t) => t.node);
}
