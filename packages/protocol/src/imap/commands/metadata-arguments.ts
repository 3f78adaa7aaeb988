// The arguments of GETMETADATA and SETMETADATA (RFC 5464 §5), tokens to typed requests:
//
//   getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
//   getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
//   getmetadata-option = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
//   entries = entry / "(" entry *(SP entry) ")"
//   setmetadata = "SETMETADATA" SP mailbox SP "(" entry SP value *(SP entry SP value) ")"
//   value = nstring / literal8
//
// The mailbox stays a token: it is decoded in the handler, which knows whether UTF-8 is on.

import type { ImapToken } from '../command-tokens.js';
import { metadataEntryProblem, metadataTop } from '../metadata-entries.js';
import type { MetadataChange, MetadataDepth } from '../session-types.js';
import { checkAstring, parseNumber } from '../wire-values.js';
import { bad, ImapReply } from './command-spec.js';

export interface GetMetadataRequest {
  readonly mailbox: ImapToken;
  /** Lower case, in the client's order. */
  readonly entries: readonly string[];
  readonly depth: MetadataDepth;
  /** Only values of at most this many octets are returned (§4.2.1). */
  readonly maxSize: number | undefined;
}

export interface SetMetadataRequest {
  readonly mailbox: ImapToken;
  readonly changes: readonly MetadataChange[];
}

/** An entry argument, in lower case (§3.2: entry names are case-insensitive), or BAD. */
export function metadataEntry(token: ImapToken | undefined): string | ImapReply {
  const checked = checkAstring(token, 'entry name');
  if ('problem' in checked) return bad(checked.problem);
  const problem = metadataEntryProblem(checked.text);
  return problem === undefined ? checked.text.toLowerCase() : bad(`invalid entry name: ${problem}`);
}

function getOptions(
  token: ImapToken & { type: 'list' },
): Pick<GetMetadataRequest, 'depth' | 'maxSize'> | ImapReply {
  let depth: MetadataDepth = '0';
  let maxSize: number | undefined;
  const items = token.items;
  for (let i = 0; i < items.length; i += 2) {
    const name = items[i]!;
    const value = items[i + 1];
    if (name.type !== 'atom') return bad('GETMETADATA options are MAXSIZE and DEPTH');
    const option = name.value.toUpperCase();
    if (option !== 'MAXSIZE' && option !== 'DEPTH') return bad(`unknown GETMETADATA option ${option}`);
    if (value?.type !== 'atom') return bad(`${option} needs a value`);
    if (option === 'MAXSIZE') {
      maxSize = parseNumber(value.value);
      if (maxSize === undefined) return bad('MAXSIZE needs a number');
    } else {
      // §5: the grammar's strings are case-insensitive, "infinity" included.
      const level = value.value.toLowerCase();
      if (level !== '0' && level !== '1' && level !== 'infinity') return bad('DEPTH is 0, 1 or infinity');
      depth = level;
    }
  }
  return { depth, maxSize };
}

export function parseGetMetadata(args: readonly ImapToken[]): GetMetadataRequest | ImapReply {
  const withOptions = args.length === 3;
  if ((args.length !== 2 && !withOptions) || (withOptions && args[0]!.type !== 'list')) {
    return bad('GETMETADATA needs [options] mailbox entries');
  }
  const options = withOptions ? getOptions(args[0] as ImapToken & { type: 'list' }) : { depth: '0' as const };
  if (options instanceof ImapReply) return options;
  const mailbox = args.at(-2)!;
  if (mailbox.type === 'list') return bad('GETMETADATA needs [options] mailbox entries');
  const list = args.at(-1)!;
  const entries: string[] = [];
  for (const token of list.type === 'list' ? list.items : [list]) {
    const entry = metadataEntry(token);
    if (entry instanceof ImapReply) return entry;
    entries.push(entry);
  }
  return {
    mailbox,
    entries,
    depth: options.depth,
    maxSize: 'maxSize' in options ? options.maxSize : undefined,
  };
}

export function parseSetMetadata(args: readonly ImapToken[]): SetMetadataRequest | ImapReply {
  const [mailbox, list] = args;
  if (args.length !== 2 || !mailbox || mailbox.type === 'list' || list?.type !== 'list') {
    return bad('SETMETADATA needs a mailbox and a list of entries and values');
  }
  if (list.items.length % 2 !== 0) return bad('SETMETADATA: an entry without a value');
  const changes: MetadataChange[] = [];
  for (let i = 0; i < list.items.length; i += 2) {
    const entry = metadataEntry(list.items[i]);
    if (entry instanceof ImapReply) return entry;
    if (metadataTop(entry)) return bad(`${entry} holds entries, it is none: name one below it`);
    const value = list.items[i + 1]!;
    // NIL removes the entry (§4.3); a string, a literal or a literal8 is the value's octets.
    if (value.type === 'atom' && value.value.toUpperCase() === 'NIL') changes.push({ entry, value: null });
    else if (value.type === 'string') changes.push({ entry, value: value.value });
    else return bad('a metadata value is a string, a literal or NIL');
  }
  return { mailbox, changes };
}
