// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
// Behaviours checked by hand against Pigeonhole's sieve-test (Dovecot 2.3): where the RFCs
// leave room, Tegami answers as Pigeonhole does.

import { describe, expect, it } from 'vitest';
import { hasMsgId } from './duplicate-test.js';
import { message, run, summary } from './test-run.js';

const broken = message(
  [
    'From: foo bar',
    'To: <>',
    'Cc: "x y" <z>',
    'Bcc: a@b.example, @c.example, d@',
    'Subject: x',
    '',
    'body',
    '',
  ].join('\n'),
);

describe('address test on broken headers', () => {
  it('compares the raw value with :all when no address in it is valid', () => {
    const script = `require ["variables", "fileinto"];
      if address :matches :all "from" "*" { fileinto "from-\${1}"; }
      if address :matches :all "to" "*" { fileinto "to-\${1}"; }
      if address :matches :localpart "cc" "*" { fileinto "never"; }`;
    expect(summary(run(script, { message: broken }))).toEqual(['fileinto from-foo bar', 'fileinto to-<>']);
  });

  it('drops the invalid entries of a list that has valid ones', () => {
    const script = `require ["variables", "fileinto", "relational"];
      if address :count "eq" "bcc" "1" { fileinto "one"; }`;
    expect(summary(run(script, { message: broken }))).toEqual(['fileinto one']);
  });

  it('reads nothing from an empty group', () => {
    const group = message('To: undisclosed-recipients:;\nSubject: x\n\nbody\n');
    expect(summary(run('if address :matches "to" "*" { discard; }', { message: group }))).toEqual([
      'implicit keep',
    ]);
  });
});

describe('match variables', () => {
  it('are left alone by a failed :matches', () => {
    const script = `require ["variables", "fileinto"];
      if string :matches "abc" "a*" { fileinto "s-\${1}"; }
      if string :matches "abc" "zz*" { stop; }
      fileinto "t-\${1}";`;
    expect(summary(run(script))).toEqual(['fileinto s-bc', 'fileinto t-bc']);
  });

  it('are not set by the body test', () => {
    const script =
      'require ["variables", "body", "fileinto"]; if body :matches "*there*" { fileinto "b-${1}"; }';
    expect(summary(run(script))).toEqual(['fileinto b-']);
  });

  it('come from the test of anyof that matched', () => {
    const script = `require ["variables", "fileinto"];
      if anyof (header :matches "subject" "*world", header :matches "from" "*@*") { fileinto "\${1}|\${2}"; }`;
    expect(summary(run(script))).toEqual(['fileinto Héllo |']);
  });
});

describe('imap4flags', () => {
  it('splits hasflag keys into flags', () => {
    const script =
      'require ["imap4flags", "fileinto"]; addflag "a b"; if hasflag :is "b a" { fileinto "yes"; }';
    expect(summary(run(script))).toEqual(['fileinto yes [a b]']);
  });
});

describe('redirect limits', () => {
  it('counts distinct addresses against the limit of 4', () => {
    const script =
      'redirect "a@b.c"; redirect "A@b.c"; redirect "a@B.c"; redirect "x@y.z"; redirect "x2@y.z"; redirect "x3@y.z";';
    expect(run(script).error?.reason).toBe('number of redirect actions exceeds policy limit (5 > 4)');
  });
});

describe('body :content (RFC 5173 §5.2)', () => {
  const mixed = message(
    [
      'From: a@example.com',
      'Subject: parts',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      'This is the prologue.',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'Hello',
      '--inner--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'From: inner@example.org',
      'Subject: forwarded',
      '  and folded',
      '',
      'Inner body.',
      '--outer--',
      'The epilogue.',
      '',
    ].join('\n'),
  );
  const flags = (tests: Record<string, string>) =>
    summary(
      run(
        `require ["body", "imap4flags"];\n${Object.entries(tests)
          .map(([flag, test]) => `if body ${test} { addflag "${flag}"; }`)
          .join('\n')}`,
        { message: mixed },
      ),
    );

  it("matches a multipart's prologue and epilogue, each a value of its own", () => {
    expect(
      flags({
        prologue: ':content "multipart" :is "This is the prologue."',
        epilogue: ':content "multipart" :is "The epilogue.\r\n"',
        both: ':content "multipart" :matches "*prologue*epilogue*"',
        child: ':content "multipart" :contains "Hello"',
      }),
    ).toEqual(['implicit keep [prologue epilogue]']);
  });

  it('gives an empty prologue as an empty value, which :is "" matches', () => {
    // The inner multipart/alternative starts with its boundary.
    expect(flags({ empty: ':content "multipart/alternative" :is ""', any: ':content "" :is ""' })).toEqual([
      'implicit keep [empty any]',
    ]);
  });

  it("matches a message/rfc822 part's enclosed header, lines as written, CRLF", () => {
    expect(
      flags({
        header:
          ':content "message/rfc822" :is "From: inner@example.org\r\nSubject: forwarded\r\n  and folded\r\n"',
        body: ':content "message" :contains "Inner body"',
        enclosed: ':content "text/plain" :contains "Inner body"',
      }),
    ).toEqual(['implicit keep [header enclosed]']);
  });

  it('leaves prologues and enclosed headers out of :text', () => {
    expect(flags({ prologue: ':text :contains "prologue"', header: ':text :contains "forwarded"' })).toEqual([
      'implicit keep',
    ]);
  });

  it('gives a part whose header has no blank line no value at all', () => {
    const headerOnly = message('From: a@example.com\nSubject: x\n');
    expect(
      summary(run('require "body"; if body :content "" :is "" { discard; }', { message: headerOnly })),
    ).toEqual(['implicit keep']);
  });
});

describe('editheader', () => {
  it('encodes an added value that looks like an encoded word, so it stays literal', () => {
    const script = `require ["editheader", "imap4flags"];
      addheader "Subject" "=?utf-8?q?replaced?=";
      if header :is "subject" "=?utf-8?q?replaced?=" { addflag "literal"; }
      if header :is "subject" "replaced" { addflag "decoded"; }`;
    const result = run(script);
    expect(summary(result)).toEqual(['implicit keep [literal]']);
    const text = Buffer.from(result.editedMessage!).toString();
    expect(text.startsWith('Subject: =?UTF-8?Q?=3D=3Futf-8=3Fq=3Freplaced=3F=3D?=\r\n')).toBe(true);
  });

  it('writes plain ASCII values as they are', () => {
    const result = run('require "editheader"; addheader "X-Note" "a =? b";');
    expect(Buffer.from(result.editedMessage!).toString()).toMatch(/^X-Note: a =\? b\r\n/);
  });
});

describe('duplicate', () => {
  const odd = message('From: a@example.com\nMessage-ID: odd-id-without-brackets\nSubject: x\n\nbody\n');

  it('tracks no default id that is not a msg-id', () => {
    const result = run('require "duplicate"; if duplicate { discard; }', {
      message: odd,
      seenBefore: () => true,
    });
    expect(summary(result)).toEqual(['implicit keep']);
    expect(result.duplicateChecks).toEqual([]);
    expect(result.duplicateMarks).toEqual([]);
  });

  it('tracks the same value named with :header', () => {
    const result = run('require "duplicate"; if duplicate :header "message-id" { discard; }', {
      message: odd,
    });
    expect(result.duplicateMarks).toHaveLength(1);
  });

  it('finds a msg-id as Dovecot does: an "<" with an "@" before the next ">"', () => {
    for (const id of ['<a@b>', '<a b@c>', ' <a@b> (comment)', '<abc> <a@b>', '<a<b@c>'])
      expect(hasMsgId(id), id).toBe(true);
    for (const id of ['odd-id-without-brackets', '<abc>', 'a@b', '<a@b', '<a>b@c>', ''])
      expect(hasMsgId(id), id).toBe(false);
  });
});
