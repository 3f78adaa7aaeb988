import type { SearchNode } from '@tegami/protocol';
import type { MemoryMessage } from './memory-mailbox.js';

// SEARCH over the in-memory store, as packages/store imap-search.ts compiles it to SQL: text
// keys are substrings of the normalised search text describeMessage stores (the engine
// normalises the key the same way), dates are UTC days.

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function compareDays(value: string, compare: 'before' | 'on' | 'since', day: string): boolean {
  return compare === 'before' ? value < day : compare === 'on' ? value === day : value >= day;
}

export function matches(node: SearchNode, m: MemoryMessage): boolean {
  switch (node.op) {
    case 'all':
      return true;
    case 'and':
      return node.nodes.every((n) => matches(n, m));
    case 'or':
      return matches(node.left, m) || matches(node.right, m);
    case 'not':
      return !matches(node.node, m);
    case 'uids':
      return node.uids.includes(m.uid);
    case 'flag': {
      // Keywords are matched without regard to case, as flag names are (RFC 3501 §2.3.2).
      const wanted = node.flag.toLowerCase();
      const has = m.flags.some((f) => f.toLowerCase() === wanted);
      return has === node.set;
    }
    case 'date': {
      const day = utcDay(node.day);
      if (node.field === 'internal') return compareDays(utcDay(m.internalDate), node.compare, day);
      if (node.field === 'saved') return compareDays(utcDay(m.savedAt), node.compare, day);
      const sentOn = m.metadata.headerDate?.sentOn;
      return sentOn ? compareDays(sentOn, node.compare, day) : false;
    }
    case 'size':
      return node.compare === 'larger' ? m.raw.length > node.size : m.raw.length < node.size;
    case 'age': {
      const since = Date.now() - node.seconds * 1000;
      return node.compare === 'older' ? m.internalDate.getTime() < since : m.internalDate.getTime() >= since;
    }
    case 'header':
      return (m.metadata.searchHeaders ?? []).some(
        (h) => h.name === node.name && h.value.includes(node.value),
      );
    case 'text': {
      if (m.searchText.includes(node.value)) return true;
      if (node.where === 'body') return false;
      if ((m.metadata.searchPartHeaders ?? '').includes(node.value)) return true;
      return (m.metadata.searchHeaders ?? []).some(
        (h) => h.value.includes(node.value) || h.name.includes(node.value),
      );
    }
    case 'modseq':
      return m.modseq >= node.modseq;
    case 'emailid':
      return m.emailId === node.emailId;
    case 'threadid':
      throw new Error('THREADID is resolved by the IMAP engine before the store is asked');
  }
}
