import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatBodyStructure, formatEnvelope, parseMessage } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { generateMessages } from './support/generated-messages.js';
import {
  ImapTestClient,
  type ImapValue,
  isImapAtom,
  parseFetchResponse,
  parseImapValues,
} from './support/imap-client.js';
import { Comparison, type Difference, hasBareLf } from './support/imap-compare.js';

// Differential test of Tegami's MIME layer against Dovecot (Debian's dovecot-imapd, run
// privately by support/dovecot-imap.ts): every corpus message and a few hundred generated
// ones are APPENDed to Dovecot, and its FETCH ENVELOPE, BODYSTRUCTURE and RFC822.SIZE are
// compared with what Tegami computes from the same bytes (formatEnvelope,
// formatBodyStructure(root, true), parseMessage().size).
//
// Both sides are parsed into value trees (support/imap-client.ts) and compared
// structurally. Normalisations, all of them freedoms RFC 3501 gives the server:
// - a string may be sent quoted or as a literal (§4.3): both parse to the same octets;
// - NIL is an atom and case-insensitive (§9 "nil"): any case parses to NIL;
// - spacing between list elements: Dovecot and Tegami write no space between the
//   addresses of an address list or the parts of a multipart ("((...)(...))", as RFC
//   3501's own examples), and the grammar has no whitespace there; the parser accepts
//   both.
// - the case of a body's media type and subtype, its Content-Transfer-Encoding and the
//   attribute names of its Content-Type parameters (the "params" list), in single parts
//   and multiparts: RFC 2045 §5.1 and §6.1 make them case-insensitive, and RFC 3501
//   §7.4.2 passes them on as strings the client compares without case. Dovecot writes
//   them as the message does, except for a single-part top-level text/plain 7bit
//   us-ascii message, which it always writes in lower case ("text" "plain" ("charset"
//   "us-ascii") NIL NIL "7bit"); Tegami writes them as the message does. Both sides are
//   compared lower-cased (ASCII). Parameter values, disposition and everything else keep
//   their case.
// Nothing else is normalised: parameter values, disposition, envelope and header values
// must match octet for octet.
//
// One comparison is skipped: for a message with a bare LF (an LF not preceded by CR,
// e.g. corpus/malformed.eml), RFC822.SIZE and the body parts' size fields. Dovecot
// counts each bare LF as CRLF there (the size of the message as IMAP would send it
// canonicalised), while Tegami serves BODY[] and RFC822.SIZE byte for byte from the
// stored blob, a deliberate rule, so its sizes are one octet smaller per bare LF. Line
// counts do not depend on it and are still compared.
//
// Every difference is collected (message, item, where in the item, both values) and the
// single assertion is that there are none.

const corpusDir = new URL('../../shared/corpus/', import.meta.url);

interface Sample {
  readonly name: string;
  readonly raw: Buffer;
}

function corpus(): Sample[] {
  const dir = fileURLToPath(corpusDir);
  if (!existsSync(dir)) throw new Error(`the shared corpus is not at ${dir}`);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.eml'))
    .sort()
    .map((file) => ({ name: `corpus/${file}`, raw: readFileSync(new URL(file, corpusDir)) }));
}

const samples: Sample[] = [
  ...corpus(),
  ...generateMessages(300, 1).map((raw, i) => ({ name: `generated[${i}]`, raw })),
];

function parseOne(text: string): ImapValue {
  const values = parseImapValues(Buffer.from(text, 'utf8'));
  if (values.length !== 1) throw new Error(`expected one value, got ${values.length}`);
  return values[0]!;
}

/** Tegami's side for one message, each item parsed like Dovecot's; a parse failure is a difference too. */
function compareMessage(sample: Sample, dovecot: Map<string, ImapValue>): Difference[] {
  const parsed = parseMessage(sample.raw);
  const skipSizes = hasBareLf(sample.raw);
  const out: Difference[] = [];
  const items: [string, () => string][] = [
    ['ENVELOPE', () => formatEnvelope(parsed.envelope)],
    ['BODYSTRUCTURE', () => formatBodyStructure(parsed.root, true)],
    ...(skipSizes ? [] : [['RFC822.SIZE', () => String(parsed.size)] as [string, () => string]]),
  ];
  for (const [item, tegamiText] of items) {
    const comparison = new Comparison(sample.name, item, skipSizes);
    let tegami: ImapValue;
    let text = '';
    try {
      text = tegamiText();
      tegami = parseOne(text);
    } catch (err) {
      comparison.report(`(Tegami's value does not parse: ${(err as Error).message})`, dovecot.get(item), {
        string: Buffer.from(text, 'utf8'),
      });
      out.push(...comparison.differences);
      continue;
    }
    const theirs = dovecot.get(item);
    if (item === 'ENVELOPE') comparison.envelope('envelope', theirs, tegami);
    else if (item === 'BODYSTRUCTURE') comparison.body('root', theirs, tegami, '');
    else comparison.values('size', theirs, tegami);
    out.push(...comparison.differences);
  }
  return out;
}

function formatDifference(d: Difference): string {
  return `${d.message} ${d.item} ${d.where}:\n    dovecot: ${d.dovecot}\n    tegami:  ${d.tegami}`;
}

// --- The test ---------------------------------------------------------------------------

describe('IMAP MIME metadata against Dovecot', () => {
  let dovecot: DovecotImap;
  let client: ImapTestClient;
  /** Dovecot's FETCH items per sample index; missing when APPEND or FETCH failed. */
  const fetched = new Map<number, Map<string, ImapValue>>();
  const appendFailures: Difference[] = [];

  beforeAll(async () => {
    dovecot = await startDovecotImap();
    client = await ImapTestClient.connect(dovecot.port);
    await client.login(dovecot.user, dovecot.password);
    const uids = new Map<number, number>();
    for (const [index, sample] of samples.entries()) {
      const { tagged } = await client.append('INBOX', sample.raw);
      const uid = /^\S+ OK \[APPENDUID \d+ (\d+)\]/i.exec(tagged);
      if (uid) uids.set(Number(uid[1]), index);
      else {
        appendFailures.push({
          message: sample.name,
          item: 'APPEND',
          where: '',
          dovecot: tagged,
          tegami: '(accepted)',
        });
      }
    }
    const selected = await client.command('SELECT INBOX');
    if (!/^\S+ OK/.test(selected.tagged)) throw new Error(`SELECT failed: ${selected.tagged}`);
    const { tagged, untagged } = await client.command('FETCH 1:* (UID ENVELOPE BODYSTRUCTURE RFC822.SIZE)');
    if (!/^\S+ OK/.test(tagged)) throw new Error(`FETCH failed: ${tagged}`);
    for (const response of untagged) {
      const fetch = parseFetchResponse(response);
      if (!fetch) continue;
      const uid = fetch.items.get('UID');
      const index = uid && isImapAtom(uid) ? uids.get(Number(uid.atom)) : undefined;
      if (index === undefined)
        throw new Error(`FETCH for an unknown message: ${response.toString('latin1')}`);
      fetched.set(index, fetch.items);
    }
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await dovecot?.stop();
  });

  it('reads the shared corpus, malformed.eml included', () => {
    const names = samples.filter((s) => s.name.startsWith('corpus/')).map((s) => s.name);
    expect(names).toContain('corpus/malformed.eml');
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  it('gives the same ENVELOPE, BODYSTRUCTURE and RFC822.SIZE as Dovecot for every message', () => {
    const differences: Difference[] = [...appendFailures];
    for (const [index, sample] of samples.entries()) {
      const items = fetched.get(index);
      if (!items) {
        if (!appendFailures.some((f) => f.message === sample.name)) {
          differences.push({
            message: sample.name,
            item: 'FETCH',
            where: '',
            dovecot: '(no FETCH response)',
            tegami: '',
          });
        }
        continue;
      }
      differences.push(...compareMessage(sample, items));
    }
    if (differences.length > 0) {
      // A summary by kind of difference first: the item and the field, without the part number.
      const kinds = new Map<string, number>();
      for (const d of differences) {
        const kind = `${d.item} ${d.where.replace(/^part [\d.]+/, 'part').replace(/\[\d+\]/g, '[]')}`;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      const summary = [...kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${String(n).padStart(5)}  ${kind}`);
      console.log(
        `${differences.length} differences in ${new Set(differences.map((d) => d.message)).size} of ${samples.length} messages\n` +
          `${summary.join('\n')}\n\n${differences.map(formatDifference).join('\n')}`,
      );
    }
    expect(differences.map(formatDifference)).toEqual([]);
  });
});
