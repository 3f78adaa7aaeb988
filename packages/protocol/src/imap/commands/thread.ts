// THREAD and UID THREAD (RFC 5256 §4) with the ORDEREDSUBJECT and REFERENCES algorithms
// (thread-orderedsubject.ts, thread-references.ts); the answer's form is thread-tree.ts's.
//
//   thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria

import { threadByOrderedSubject } from '../thread-orderedsubject.js';
import { threadByReferences } from '../thread-references.js';
import { formatThreadResponse } from '../thread-tree.js';
import { bad, defineCommand, type ImapReply, ok, SELECTED } from './command-spec.js';
import { type CharsetAndKeys, charsetAndKeys, matchingMessages } from './sorted-messages.js';

type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';

interface ThreadRequest extends CharsetAndKeys {
  readonly algorithm: ThreadAlgorithm;
}

export const thread = defineCommand({
  name: 'THREAD',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' ? [] : ['THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES'],
  }),
  parse(args): ThreadRequest | ImapReply {
    const name = args[0];
    if (name?.type !== 'atom') return bad('thread algorithm expected');
    const algorithm = name.value.toUpperCase();
    if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES') return bad('unknown thread algorithm');
    const rest = charsetAndKeys(args, 1);
    if (!('charset' in rest)) return rest;
    return { ...rest, algorithm };
  },
  async handle(request, context, { uid }) {
    const references = request.algorithm === 'REFERENCES';
    const messages = await matchingMessages(context, request, references);
    if (!Array.isArray(messages)) return messages;
    const threads = references ? threadByReferences(messages) : threadByOrderedSubject(messages);
    await context.write(formatThreadResponse(threads, (m) => (uid ? m.uid : m.seq)));
    return ok(`${uid ? 'UID THREAD' : 'THREAD'} completed`);
  },
});
