import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ImapCommandReader, type ImapToken } from '../../../packages/protocol/src/imap/command-reader.js';
import {
  BadCharsetError,
  MAX_SEARCH_NODES,
  parseSearchCriteria,
  type SearchContext,
} from '../../../packages/protocol/src/imap/search-keys.js';
import { parseSequenceSet, resolveSequenceSet } from '../../../packages/protocol/src/imap/sequence-set.js';
import type { SearchNode } from '../../../packages/protocol/src/imap/session-types.js';
import { searchKey } from '../../../packages/protocol/src/imap/test-command-grammar.js';
import { ImapSyntaxError } from '../../../packages/protocol/src/imap/wire-values.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { ensure, loneSurrogateAt, mutatedBytes } from '../mail-seeds.js';
import { latin1 } from '../protocol-grammar.js';

// IMAP SEARCH keys (packages/protocol/src/imap/search-keys.ts, RFC 9051 §6.4.4): from the
// tokens the command reader makes of any criteria, the parser either gives a search tree
// every node of which is well formed and within the limits, or refuses with the defined
// errors (BAD, NO [BADCHARSET]), never anything else; and it gives the same tree twice.

interface SearchInput {
  readonly criteria: Uint8Array;
  readonly charset: string | undefined;
}

const SEEDS = [
  'OR (FROM "x" TO {1+}\r\ny) NOT (((SEEN)))',
  'HEADER X-Spam "" LARGER 100 SINCE 1-Feb-2024 UID 1:*,$',
  'MODSEQ "/flags/\\\\seen" all 620162338 EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9',
  'SAVEDBEFORE 31-Dec-2099 OLDER 60 YOUNGER 4294967295 KEYWORD $Forwarded',
].map(latin1);

const criteria = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(searchKey, { minLength: 1, maxLength: 4 })
      .map(
        (keys) => new Uint8Array(Buffer.concat(keys.flatMap((k, i) => (i ? [Buffer.from(' '), k] : [k])))),
      ),
  },
  { weight: 3, arbitrary: mutatedBytes(SEEDS) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 200 })
      .map((n) => latin1(`${'NOT '.repeat(n)}${'('.repeat(n % 70)}ALL${')'.repeat(n % 70)}`)),
  },
);

const input: fc.Arbitrary<SearchInput> = fc.record({
  criteria,
  charset: fc.constantFrom(
    undefined,
    'UTF-8',
    'US-ASCII',
    'ISO-2022-JP',
    'SHIFT_JIS',
    'WINDOWS-1252',
    'KOI8-R',
  ),
});

const context = (charset: string | undefined): SearchContext => ({
  resolveSet: (text) => {
    const set = parseSequenceSet(text);
    if (!set) return undefined;
    // A mailbox of 20 messages: numbers past them name nothing (and 1:4294967295 is not expanded).
    return resolveSequenceSet(set, 20).flatMap((r) =>
      Array.from({ length: Math.max(0, Math.min(r.to, 20) - r.from + 1) }, (_, i) => r.from + i),
    );
  },
  recentUids: () => [2, 3],
  ...(charset !== undefined && { charset }),
});

/** The arguments of `t SEARCH <criteria>`, as the reader makes them; undefined if it is no command. */
function tokensOf(bytes: Uint8Array): readonly ImapToken[] | undefined {
  const reader = new ImapCommandReader({ maxCommandBytes: 1 << 20, maxDepth: 128, maxTokens: 1 << 16 });
  reader.push(Buffer.concat([Buffer.from('t SEARCH '), bytes, Buffer.from('\r\n')]));
  for (let event = reader.next(); event; event = reader.next()) {
    if (event.kind === 'literal') {
      if (event.over) return undefined;
      reader.acceptLiteral();
    } else {
      return event.kind === 'command' ? event.command.args : undefined;
    }
  }
  return undefined;
}

function checkNode(node: SearchNode, counter: { nodes: number }): void {
  counter.nodes++;
  switch (node.op) {
    case 'and':
      ensure(node.nodes.length > 0, 'an empty AND');
      for (const n of node.nodes) checkNode(n, counter);
      return;
    case 'or':
      checkNode(node.left, counter);
      checkNode(node.right, counter);
      return;
    case 'not':
      checkNode(node.node, counter);
      return;
    case 'uids':
      ensure(
        node.uids.every((u) => Number.isInteger(u) && u >= 1),
        'a UID that is no nz-number',
      );
      return;
    case 'flag':
      ensure(node.flag !== '', 'an empty flag');
      return;
    case 'date':
      ensure(!Number.isNaN(node.day.getTime()), 'an invalid date');
      ensure(node.day.getTime() % 86_400_000 === 0, 'a day that is not midnight UTC');
      return;
    case 'size':
      ensure(Number.isSafeInteger(node.size) && node.size >= 0, `size ${node.size}`);
      return;
    case 'age':
      ensure(Number.isSafeInteger(node.seconds) && node.seconds >= 0, `age ${node.seconds}`);
      return;
    case 'header':
      ensure(node.name !== '' && loneSurrogateAt(node.name) < 0, 'a header name');
      ensure(loneSurrogateAt(node.value) < 0, 'a header value with half a surrogate pair');
      return;
    case 'text':
      ensure(loneSurrogateAt(node.value) < 0, 'a text value with half a surrogate pair');
      return;
    case 'modseq':
      ensure(node.modseq >= 0n && node.modseq < 2n ** 63n, `modseq ${node.modseq}`);
      return;
    default:
  }
}

export const target: FuzzTarget<SearchInput> = {
  name: 'imap-search',
  covers: 'IMAP SEARCH keys from command tokens: every key, nesting, charsets, limits (RFC 9051 §6.4.4)',
  input,
  check({ criteria: bytes, charset }) {
    const tokens = tokensOf(bytes);
    if (!tokens) return;
    let tree: SearchNode;
    try {
      tree = parseSearchCriteria(tokens, context(charset));
    } catch (error) {
      // The defined refusals: BAD for syntax, NO [BADCHARSET] for strings the charset cannot read.
      if (error instanceof ImapSyntaxError || error instanceof BadCharsetError) return;
      throw error;
    }
    const counter = { nodes: 0 };
    checkNode(tree, counter);
    ensure(counter.nodes <= MAX_SEARCH_NODES, `${counter.nodes} nodes`);
    ensure(
      isDeepStrictEqual(parseSearchCriteria(tokens, context(charset)), tree),
      'the same criteria parse differently',
    );
  },
};
