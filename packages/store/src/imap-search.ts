import { emailKeyOf, type SearchNode, systemFlag } from '@tegami/protocol';
import { EMAIL_KEY_SQL, SAVED_AT_SQL } from './object-ids.js';

// SEARCH criteria as a SQL condition over `messages m`, values as parameters. Text keys
// match substrings of the search text stored at delivery or APPEND, which was normalised
// the same way the query was (packages/protocol/mime normaliseForSearch): case-, width-
// and charset-insensitive, whatever the message's encoding.

const MAX_NODES = 10_000;

/** Appends the parameters it uses to `params` (whose $1 is the mailbox id). */
export function compileSearch(node: SearchNode, params: unknown[]): string {
  let nodes = 0;
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const compile = (n: SearchNode): string => {
    if (++nodes > MAX_NODES) throw new Error('search too complex');
    switch (n.op) {
      case 'all':
        return 'TRUE';
      case 'and':
        return n.nodes.length === 0 ? 'TRUE' : `(${n.nodes.map(compile).join(' AND ')})`;
      case 'or':
        return `(${compile(n.left)} OR ${compile(n.right)})`;
      case 'not':
        return `(NOT ${compile(n.node)})`;
      case 'uids':
        return n.uids.length === 0 ? 'FALSE' : `m.uid = ANY(${param(n.uids)}::bigint[])`;
      case 'flag': {
        const system = systemFlag(n.flag);
        // Keywords are matched without regard to case, as flag names are (RFC 3501 §2.3.2).
        const has = system
          ? `m.flags @> ARRAY[${param(system)}::text]`
          : `EXISTS (SELECT 1 FROM unnest(m.flags) f WHERE lower(f) = lower(${param(n.flag)}))`;
        return n.set ? has : `(NOT ${has})`;
      }
      case 'date': {
        const day = n.day.toISOString().slice(0, 10);
        if (n.field !== 'sent') {
          // The internal (or save) date's day in UTC, the zone this server keeps its dates in.
          const column = `(${n.field === 'internal' ? 'm.internal_date' : SAVED_AT_SQL} AT TIME ZONE 'UTC')::date`;
          return `${column} ${n.compare === 'before' ? '<' : n.compare === 'on' ? '=' : '>='} ${param(day)}::date`;
        }
        // RFC 3501: the Date header's date, "disregarding time and timezone".
        const sent = `(m.metadata->'headerDate'->>'sentOn')::date`;
        const op = n.compare === 'before' ? '<' : n.compare === 'on' ? '=' : '>=';
        return `COALESCE(${sent} ${op} ${param(day)}::date, FALSE)`;
      }
      case 'size':
        return `m.size ${n.compare === 'larger' ? '>' : '<'} ${param(n.size)}::bigint`;
      case 'age': {
        const since = `now() - make_interval(secs => ${param(n.seconds)}::double precision)`;
        return n.compare === 'older' ? `m.internal_date < ${since}` : `m.internal_date >= ${since}`;
      }
      case 'header':
        return `EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(m.metadata->'searchHeaders', '[]'::jsonb)) h
                 WHERE h->>'name' = ${param(n.name)} AND strpos(h->>'value', ${param(n.value)}) > 0)`;
      case 'text': {
        const value = param(n.value);
        const body = `strpos(COALESCE(m.search_text, ''), ${value}) > 0`;
        if (n.where === 'body') return body;
        const parts = `strpos(COALESCE(m.metadata->>'searchPartHeaders', ''), ${value}) > 0`;
        return `(${body} OR ${parts} OR EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(m.metadata->'searchHeaders', '[]'::jsonb)) h
                 WHERE strpos(h->>'value', ${value}) > 0 OR strpos(h->>'name', ${value}) > 0))`;
      }
      case 'modseq':
        return `m.modseq >= ${param(n.modseq.toString())}::bigint`;
      case 'threadid':
        throw new Error('THREADID is resolved by the IMAP engine before the store is asked');
      case 'emailid': {
        // An objectid this server never made names no message.
        const key = emailKeyOf(n.emailId);
        return key ? `${EMAIL_KEY_SQL} = ${param(key)}::bytea` : 'FALSE';
      }
    }
  };
  return compile(node);
}
