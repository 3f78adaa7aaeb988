import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { authservIdOf } from '../../../packages/protocol/src/dkim/authserv-id.js';
import {
  dkimRecordValue,
  matchDkimRecords,
  parseDkimKeyRecord,
  txtCharacterStrings,
  zoneFileTxtLine,
} from '../../../packages/protocol/src/dkim/key-record.js';
import { findHeaderEnd as protocolHeaderEnd } from '../../../packages/protocol/src/mime/header-parser.js';
import { arcSeal } from '../../../services/delivery-worker/src/arc-seal.js';
import {
  authenticationResultsField,
  removeForgedAuthenticationResults,
} from '../../../services/smtp-ingress/src/authentication-results.js';
import {
  fieldName,
  fieldValue,
  findHeaderEnd,
  splitFields,
} from '../../../services/smtp-ingress/src/header-fields.js';
import type { MessageAuthentication } from '../../../services/smtp-ingress/src/mail-authentication.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { corpusMessages, ensure, mutatedBytes, mutatedText } from '../mail-seeds.js';

// The DKIM and ARC header handling Tegami does itself; the cryptography and the verification
// are mailauth's. Covered: the authserv-id of Authentication-Results (smtp-ingress removes
// forgeries of its own, RFC 8601 §5; the delivery-worker finds its verdict to ARC-seal a
// forwarded message), the Authentication-Results field written, the ARC chain read before
// sealing (RFC 8617 §4.2.1, §5.2), and DKIM key records read from DNS (RFC 6376 §3.6.1).

const OURS = 'mx.example.com';

export type DkimArcInput =
  | { readonly kind: 'authserv-id'; readonly value: string }
  | { readonly kind: 'message'; readonly raw: Uint8Array }
  | { readonly kind: 'results'; readonly infos: readonly string[] }
  | { readonly kind: 'key-record'; readonly text: string };

// ---- Inputs.

const comment = fc.constantFrom('(x)', '(a (nested) one)', '(esc \\) aped)', '(', ')', '\\(', '');
const authValue = fc
  .tuple(
    comment,
    fc.constantFrom(OURS, 'MX.Example.COM', 'other.example', 'mx.example.com.evil', ''),
    comment,
    fc.constantFrom('', ' 1', '1'),
    fc.constantFrom('; spf=pass smtp.mailfrom=a@b', ';', '; arc=pass', '; none', ''),
  )
  .map((parts) => parts.join(' '));
const deepComments = fc
  .tuple(fc.integer({ min: 1000, max: 100_000 }), fc.boolean())
  .map(([depth, closed]) => `${'('.repeat(depth)}${closed ? ')'.repeat(depth) : ''} other.example; none`);

const arcField = fc
  .tuple(
    fc.constantFrom(
      'ARC-Seal',
      'ARC-Message-Signature',
      'ARC-Authentication-Results',
      'arc-seal',
      'Authentication-Results',
      'DKIM-Signature',
    ),
    fc.constantFrom('i=1', 'i=2', 'i=0', 'i=51', 'i = 1 ', 'i=x', ''),
    fc.constantFrom(
      '; cv=none',
      '; cv=pass',
      '; cv=fail',
      '; cv=',
      '',
      `; ${OURS}; arc=pass`,
      `; ${OURS}; arc=fail`,
    ),
    fc.constantFrom('', '; d=example.org; s=sel; b=AAAA', '\r\n\tb=folded'),
  )
  .map(([name, i, cv, rest]) => `${name}: ${i}${cv}${rest}\r\n`);
const ourResults = fc.constantFrom(
  `Authentication-Results: ${OURS}; arc=pass\r\n`,
  `Authentication-Results: ${OURS};\r\n spf=pass;\r\n arc=fail\r\n`,
  `Authentication-Results: (comment) ${OURS.toUpperCase()} 1; arc=none\r\n`,
  'Authentication-Results: other.example; arc=pass\r\n',
);
/** A full set of n ARC fields, instances 1..n, as a chain that arrived intact. */
const arcChain = fc
  .integer({ min: 0, max: 52 })
  .map((n) =>
    Array.from(
      { length: n },
      (_, k) =>
        `ARC-Seal: i=${k + 1}; cv=${k === 0 ? 'none' : 'pass'}\r\nARC-Message-Signature: i=${k + 1}\r\nARC-Authentication-Results: i=${k + 1}; x\r\n`,
    ).join(''),
  );
const arcMessage = fc
  .tuple(
    fc.array(fc.oneof(arcField, ourResults), { maxLength: 8 }),
    arcChain,
    fc.constantFrom('Subject: x\r\nFrom: a@b\r\n', 'From: a@b\n', ''),
    fc.constantFrom('\r\nbody\r\n', '\r\n', '', '\n\nbare LF body\n'),
  )
  .map(
    ([fields, chain, more, body]) =>
      new Uint8Array(Buffer.from(`${chain}${fields.join('')}${more}${body}`, 'latin1')),
  );

/** A chain that arrived intact and was verified: the next set is sealed after it. */
const verifiedChain = fc.tuple(fc.integer({ min: 1, max: 50 }), ourResults).map(([n, results]) => {
  const sets = Array.from(
    { length: n },
    (_, k) =>
      `ARC-Seal: i=${n - k}; a=rsa-sha256; cv=${n - k === 1 ? 'none' : 'pass'}; d=x.test; s=s; b=AA==\r\nARC-Message-Signature: i=${n - k}; a=rsa-sha256; d=x.test; s=s; h=from; bh=AA==; b=AA==\r\nARC-Authentication-Results: i=${n - k}; x.test; none\r\n`,
  ).join('');
  return new Uint8Array(Buffer.from(`${results}${sets}From: a@b\r\nSubject: x\r\n\r\nbody\r\n`, 'latin1'));
});

// mailauth writes a lone CR in a value (a From domain, a selector) as a space and folds with
// CRLF, so a resinfo never holds a bare CR.
const info = fc
  .oneof(
    fc.constantFrom(
      'spf=pass (mx.example.com: domain of a@b designates 192.0.2.1 as permitted sender) smtp.mailfrom=a@b',
      'dkim=pass header.i=@example.org header.s=sel header.a=rsa-sha256 header.b="abcdefgh"',
      'arc=none',
      'dmarc=fail (p=REJECT sp=NONE arc=none) header.from=example.org',
    ),
    fc.string({ maxLength: 300 }),
    fc.string({ unit: fc.constantFrom('a', ' ', '\r\n', '\n', '\t', ';', '(', ')'), maxLength: 300 }),
  )
  .map((text) => text.replace(/\r(?!\n)/g, ' '));

const keyRecord = fc.oneof(
  mutatedText([
    'v=DKIM1; k=rsa; p=MIIBIjANBgkqh',
    'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
    'k=rsa; t=y:s; h=sha1:sha256; s=email; p=',
    'p=;',
    'v=DKIM1;;p=x',
    'v=DKIM2; p=x',
    'p=a; p=b',
  ]),
  fc.string({ maxLength: 200 }),
);

const input: fc.Arbitrary<DkimArcInput> = fc.oneof(
  {
    arbitrary: fc
      .oneof(authValue, mutatedText([`${OURS}; spf=pass`, `(c (d)) ${OURS} 1; dkim=pass`]), {
        arbitrary: deepComments,
        weight: 1,
      })
      .map((value) => ({ kind: 'authserv-id' as const, value })),
    weight: 3,
  },
  {
    arbitrary: fc
      .oneof(arcMessage, verifiedChain, mutatedBytes(corpusMessages, { base: arcMessage }))
      .map((raw) => ({ kind: 'message' as const, raw })),
    weight: 3,
  },
  {
    arbitrary: fc
      .array(info, { minLength: 4, maxLength: 6 })
      .map((infos) => ({ kind: 'results' as const, infos })),
    weight: 2,
  },
  { arbitrary: keyRecord.map((text) => ({ kind: 'key-record' as const, text })), weight: 2 },
);

// ---- Properties.

/** The reading before issue 21's fix (quadratic in the nesting), as the reference on small, closed values. */
function referenceAuthservId(value: string): { id: string; closed: boolean } {
  let text = value;
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  }
  const id = ((text.split(';')[0] ?? '').trim().split(/\s+/)[0] ?? '').toLowerCase();
  return { id, closed: !/[()]/.test(text) };
}

function checkAuthservId(value: string): void {
  const id = authservIdOf(value);
  ensure(
    id === id.toLowerCase() && !/[\s;(]/.test(id),
    `authserv-id ${JSON.stringify(id)} is one lower-case token`,
  );
  if (value.length <= 4096) {
    const reference = referenceAuthservId(value);
    if (reference.closed)
      ensure(id === reference.id, `${JSON.stringify(value)}: ${id}, the reference reads ${reference.id}`);
  }
}

const sealKey = (() => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return {
    domain: 'alias.example',
    selector: 'arc',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
})();

async function checkMessage(bytes: Uint8Array): Promise<void> {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = findHeaderEnd(raw);
  const fields = splitFields(raw.subarray(0, headerEnd).toString('latin1'));
  const isOurs = (f: string) =>
    fieldName(f) === 'authentication-results' && authservIdOf(fieldValue(f)) === OURS;

  // RFC 8601 §5: our own id's fields go, everything else stays byte for byte, in order.
  const cleaned = removeForgedAuthenticationResults(raw, OURS);
  const kept = fields.filter((f) => !isOurs(f));
  ensure(
    cleaned.equals(Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(headerEnd)])),
    'only forged fields are removed',
  );
  if (kept.length === fields.length) ensure(cleaned === raw, 'nothing removed: the same buffer');
  ensure(
    removeForgedAuthenticationResults(cleaned, OURS).equals(cleaned),
    'removing twice removes nothing more',
  );

  // Sealing: a sealed message is the original with one ARC set in front, numbered after the chain.
  let sealed: Awaited<ReturnType<typeof arcSeal>>;
  try {
    sealed = await arcSeal(raw, sealKey, OURS, new Date(Date.UTC(2026, 0, 1)));
  } catch (error) {
    // mailauth failing is caught by the forwarder (forwarding.ts) and sends the copy unsealed.
    ensure(error instanceof Error, 'arcSeal rejects with an Error');
    return;
  }
  if (sealed.kind === 'not-sealed') {
    ensure(sealed.reason.length > 0, 'a reason is given');
    return;
  }
  ensure(
    sealed.message.subarray(sealed.message.length - raw.length).equals(raw),
    'the original follows the ARC set unchanged',
  );
  // Counted as arcSeal and mailauth read the header: the fields whose first line names them
  // ARC-Seal (a name folded before its colon is no field), up to the first blank line, which
  // may follow a bare LF (packages/protocol's findHeaderEnd; smtp-ingress never sees one).
  const sealEnd = protocolHeaderEnd(raw, 0, raw.length);
  const header = raw.subarray(0, sealEnd < 0 ? raw.length : sealEnd).toString('latin1');
  const seals = (header.match(/^arc-seal[ \t]*:/gim) ?? []).length;
  ensure(
    sealed.instance === seals + 1 && sealed.instance <= 50,
    `instance ${sealed.instance} after ${seals} sets`,
  );
  ensure(seals > 0 || sealed.cv === 'none', 'the first set says cv=none');
  const added = splitFields(
    sealed.message.subarray(0, sealed.message.length - raw.length).toString('latin1'),
  ).map(fieldName);
  ensure(
    added.length === 3 &&
      ['arc-seal', 'arc-message-signature', 'arc-authentication-results'].every((n) => added.includes(n)),
    `one ARC set added: ${added.join(', ')}`,
  );
}

function checkResults(infos: readonly string[]): void {
  const [spf, dkim, arc, dmarc] = infos;
  const auth: MessageAuthentication = {
    spf: { result: 'pass', identity: 'a@b', domain: 'b', info: spf! },
    helo: undefined,
    dkim: [
      { result: 'pass', domain: 'b', selector: 's', algorithm: 'rsa-sha256', aligned: true, info: dkim! },
    ],
    dmarc: { result: 'pass', domain: 'b', policy: 'none', pct: 100, info: dmarc! },
    arc: { result: 'none', instance: 0, sealer: undefined, info: arc! },
    timedOut: false,
  };
  const field = authenticationResultsField(OURS, auth);
  ensure(field.endsWith('\r\n') && !/\r(?!\n)|(?<!\r)\n/.test(field), 'CRLF line ends only');
  const fields = splitFields(field);
  ensure(fields.length === 1, `one field, not ${fields.length}: a resinfo must not start a field of its own`);
  ensure(authservIdOf(fieldValue(fields[0]!)) === OURS, 'the field reads back as ours');
  const message = Buffer.from(`${field}Subject: x\r\n\r\nbody\r\n`);
  ensure(
    removeForgedAuthenticationResults(message, OURS).toString() === 'Subject: x\r\n\r\nbody\r\n',
    'our field is recognised as ours',
  );
}

function checkKeyRecord(text: string): void {
  const parsed = parseDkimKeyRecord(text);
  if (parsed.ok) ensure(!/\s/.test(parsed.record.publicKey), 'p= has no whitespace');
  matchDkimRecords([txtCharacterStrings(text)], { algorithm: 'rsa-sha256', publicKey: 'MIIB' });
  // What Tegami publishes reads back as published, cut into strings and joined again.
  const key = text.replace(/[^A-Za-z0-9+/=]/g, '') || 'AAAA';
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    const value = dkimRecordValue(algorithm, key);
    const strings = txtCharacterStrings(value);
    ensure(
      strings.join('') === value && strings.every((s) => s.length <= 255),
      'TXT strings of at most 255 octets',
    );
    const zone = zoneFileTxtLine('sel._domainkey.example.org', value);
    const unquoted = [...zone.matchAll(/"((?:[^"\\]|\\.)*)"/g)]
      .map((m) => m[1]!.replace(/\\(.)/g, '$1'))
      .join('');
    ensure(unquoted === value, 'the zone file line holds the value');
    const match = matchDkimRecords([strings], { algorithm, publicKey: key });
    ensure(match.kind === 'published', `our own record reads ${match.kind}`);
  }
}

async function check(input: DkimArcInput): Promise<void> {
  switch (input.kind) {
    case 'authserv-id':
      return checkAuthservId(input.value);
    case 'message':
      return checkMessage(input.raw);
    case 'results':
      return checkResults(input.infos);
    case 'key-record':
      return checkKeyRecord(input.text);
  }
}

export const target: FuzzTarget<DkimArcInput> = {
  name: 'dkim-arc-headers',
  covers:
    'Authentication-Results (authserv-id, forgery removal, the field written), ARC chain before sealing, DKIM key records',
  input,
  check,
  regressions: [
    // Nested comments were stripped level by level: quadratic, minutes for a large forged field.
    { kind: 'authserv-id', value: `${'('.repeat(100_000)}${')'.repeat(100_000)} other.example; none` },
    // No blank line after the header: mailauth's ARC set lacked its ARC-Message-Signature and
    // held a blank line that pushed the original header into the body.
    { kind: 'message', raw: new Uint8Array(Buffer.from('Received: from x\r\nFrom: a@b\r\nSubject: x\r\n')) },
    { kind: 'message', raw: new Uint8Array(0) },
  ],
};
