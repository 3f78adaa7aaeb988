import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  decodeParams,
  mergeRfc2231Continuations,
  parseContentDisposition,
  parseContentLanguage,
  parseContentType,
} from '../../../packages/protocol/src/mime/mime-parameters.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { headerText } from '../mail-grammar.js';
import { ensure, loneSurrogateAt, mutatedText } from '../mail-seeds.js';

// Content-Type and Content-Disposition values with RFC 2231 parameters (continuations,
// charsets, percent-encoding) and RFC 2045 quoting: a parameter written in pieces, in any
// order, reads back as the value it was cut from.

/** A parameter value written as RFC 2231 sections, and the value it stands for. */
interface SplitParameter {
  readonly header: string;
  readonly name: string;
  readonly value: string;
}

export type MimeParametersInput =
  | { readonly kind: 'header'; readonly text: string }
  | { readonly kind: 'split'; readonly parameter: SplitParameter };

const SEEDS = [
  'text/plain; charset="utf-8"; format=flowed',
  'multipart/mixed; boundary="----=_Part_0_12345.6789"',
  "attachment; filename*0*=UTF-8''%E8; filename*1*=%A6%8B.txt; title*0=100%; title*1*=%E2%82%AC",
  "attachment; filename*=iso-2022-jp'ja'%1B%24B%25F%259%25H%1B%28B.pdf",
  'application/pdf; junk; name==?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=.pdf; x',
  'text/plain (a comment (nested)); charset = "utf-8" ; name="a \\"b\\".txt"',
  'text/plain; a*0=x; a*2=z; A*1=y; __proto__=p; constructor*=c',
  'inline; filename*1="b"; filename*0="a"; filename="plain"',
  'en, de-CH (Swiss), ja',
];

const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.');
const paramName = fc.string({ unit: nameChar, minLength: 1, maxLength: 12 });

/** Octets outside RFC 2231 attribute-char, percent-encoded. */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

function quoted(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

const splitParameter: fc.Arbitrary<SplitParameter> = fc
  .tuple(
    paramName,
    // Characters a header can carry once percent-encoded; a plain section holds printable ASCII.
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 12 }),
          fc.string({ unit: fc.constantFrom(...' %"\\\';=*()'), maxLength: 6 }),
        ),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 6 },
    ),
    fc.boolean(),
    fc.constantFrom('attachment', 'text/plain', 'inline'),
    fc.nat(),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([name, pieces, single, type, shuffle, plainDecoy, upper]) => {
    // Parameter names are case-insensitive (RFC 2045 §5.1). Sections of one parameter that
    // spell its name differently are not merged, as Dovecot (whose BODYSTRUCTURE Tegami
    // matches) sorts and joins them by exact name; so one spelling per parameter here.
    const spelt = upper ? name.toUpperCase() : name;
    const value = pieces.map(([text]) => text).join('');
    let sections: string[];
    let anyExtended = true;
    if (single && pieces.length === 1) {
      sections = [`${name}*=utf-8'en'${percentEncode(value)}`];
    } else {
      anyExtended = false;
      sections = pieces.map(([text, extended], index) => {
        // A plain section holds printable ASCII only; the first extended one names the charset.
        const plain = !extended && /^[\x20-\x7e]*$/.test(text);
        if (plain) return `${spelt}*${index}=${quoted(text)}`;
        anyExtended = true;
        return `${spelt}*${index}*=${index === 0 ? "utf-8''" : ''}${percentEncode(text)}`;
      });
    }
    // Sections may come in any order (RFC 2231 §3 only asks readers to sort them).
    const order = sections.map((s, i) => ({ s, key: (i * 7919 + shuffle) % 101 }));
    order.sort((a, b) => a.key - b.key);
    const written = order.map((o) => o.s);
    // A plain parameter of the same name must lose to an extended one (RFC 2231 §4); next to
    // plain continuations only, which of the two counts is not said anywhere.
    if (plainDecoy && anyExtended) written.push(`${name}="decoy"`);
    return { header: `${type}; ${written.join('; ')}`, name, value };
  });

const headerValue = fc.oneof(
  mutatedText(SEEDS),
  headerText.map((t) => `text/plain; name=${t}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

const input: fc.Arbitrary<MimeParametersInput> = fc.oneof(
  headerValue.map((text) => ({ kind: 'header' as const, text })),
  splitParameter.map((parameter) => ({ kind: 'split' as const, parameter })),
);

function checkHeader(text: string): void {
  const type = parseContentType(text);
  const disposition = parseContentDisposition(text);
  parseContentLanguage(text);
  for (const parsed of [type, disposition]) {
    if (parsed === null) continue;
    // Merging is done once at parse time; merging again may reorder (plain parameters go
    // first, as in Dovecot) but must change no parameter.
    const sorted = (params: readonly { name: string; value: string }[]) =>
      params.map((p) => JSON.stringify([p.name, p.value])).sort();
    ensure(
      isDeepStrictEqual(sorted(mergeRfc2231Continuations(parsed.params)), sorted(parsed.params)),
      'merging is idempotent',
    );
    const decoded = decodeParams(parsed.params);
    ensure(Object.getPrototypeOf(decoded) === null, 'decoded parameters have no prototype');
    for (const [name, value] of Object.entries(decoded)) {
      ensure(name === name.toLowerCase(), `decoded name ${name} is lower case`);
      if (loneSurrogateAt(text) < 0)
        ensure(loneSurrogateAt(value) < 0, `parameter ${name} decoded to a lone surrogate`);
      // Percent-decoding and charsets shrink or keep the length, at most doubling a unit.
      ensure(
        value.length <= 2 * text.length + 16,
        `parameter ${name} decoded to ${value.length} units from ${text.length}`,
      );
    }
  }
}

function check(input: MimeParametersInput): void {
  if (input.kind === 'header') {
    checkHeader(input.text);
    return;
  }
  const { header, name, value } = input.parameter;
  checkHeader(header);
  const parsed = parseContentType(header) ?? parseContentDisposition(header);
  ensure(parsed !== null, 'the header parses');
  const decoded = decodeParams(parsed.params)[name.toLowerCase()];
  ensure(
    decoded === value,
    `${JSON.stringify(header)} decoded to ${JSON.stringify(decoded)}, not ${JSON.stringify(value)}`,
  );
}

export const target: FuzzTarget<MimeParametersInput> = {
  name: 'mime-parameters',
  covers: 'Content-Type/Disposition/Language values, RFC 2231 continuations and charsets, decoded round trip',
  input,
  check,
  regressions: [
    // A section index past 2^53 was renamed "a*2.2222222222222222e+21" in BODYSTRUCTURE.
    { kind: 'header', text: 'text/plain; a*0=x; a*2222222222222222222222=' },
  ],
};
