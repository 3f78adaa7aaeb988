// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileSieve } from './compile-script.js';
import { duplicateKey } from './duplicate-test.js';
import { runSieve } from './interpret.js';
import { spamtestValue } from './spam-tests.js';
import { input, message, run, summary } from './test-run.js';
import type { VacationAction } from './types.js';

describe('imap4flags (RFC 5232)', () => {
  it('keeps with the internal flags, duplicates and case merged', () => {
    const script =
      'require "imap4flags"; setflag "\\\\Seen"; addflag ["\\\\seen Junk", "junk \\\\Flagged"]; keep;';
    expect(summary(run(script))).toEqual(['keep [\\Seen Junk \\Flagged]']);
  });

  it('removes flags and gives them to the implicit keep', () => {
    const script = 'require "imap4flags"; addflag "a b c"; removeflag "B";';
    expect(summary(run(script))).toEqual(['implicit keep [a c]']);
  });

  it('stores with :flags instead of the internal variable', () => {
    const script =
      'require ["imap4flags", "fileinto"]; addflag "x"; fileinto :flags "\\\\Flagged" "Important"; keep;';
    expect(summary(run(script))).toEqual(['fileinto Important [\\Flagged]', 'keep [x]']);
  });

  it('stores once into a mailbox stored into twice, with the flags of the last store', () => {
    const script =
      'require ["imap4flags", "fileinto"]; keep :flags "\\\\seen"; fileinto :flags "foo \\\\Seen" "INBOX";';
    expect(summary(run(script))).toEqual(['keep [foo \\Seen]']);
    // As Pigeonhole: the last store's flags, the internal variable when it has no :flags.
    const folder = `require ["imap4flags", "fileinto"];
      fileinto :flags "one" "Folder"; fileinto :flags "two" "Folder";
      keep :flags "kept"; fileinto "INBOX";
      addflag "late"; fileinto "Other"; removeflag "late"; fileinto "Other";`;
    expect(summary(run(folder))).toEqual(['fileinto Folder [two]', 'keep', 'fileinto Other']);
  });

  it('drops flags IMAP cannot store', () => {
    expect(summary(run('require "imap4flags"; keep :flags ["\\\\Recent", "\\\\Bogus", "ok"];'))).toEqual([
      'keep [ok]',
    ]);
  });

  it('works on named variables and tests them with hasflag', () => {
    const script = `require ["imap4flags", "variables"];
      setflag "mine" "a";
      addflag "mine" "b";
      if hasflag :is "mine" "b" { addflag "found"; }
      if hasflag :contains "a" { discard; }`;
    expect(summary(run(script))).toEqual(['implicit keep [found]']);
  });
});

describe('vacation (RFC 5230, RFC 6131)', () => {
  function vacation(script: string, overrides = {}): VacationAction | undefined {
    return run(script, overrides).actions.find(
      (action): action is VacationAction => action.type === 'vacation',
    );
  }

  it('answers the envelope sender, threading on the original', () => {
    const action = vacation('require "vacation"; vacation :subject "Away" "I am away.";');
    expect(action).toMatchObject({
      to: 'sender@example.com',
      subject: 'Away',
      reason: 'I am away.',
      seconds: 7 * 86_400,
      inReplyTo: '<abc@example.com>',
      mime: false,
    });
    expect(action?.handle).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the message too (vacation does not cancel the implicit keep)', () => {
    expect(summary(run('require "vacation"; vacation "away";'))).toEqual([
      'vacation to sender@example.com',
      'implicit keep',
    ]);
  });

  it('takes :days, at least one day, and :seconds', () => {
    expect(vacation('require "vacation"; vacation :days 3 "x";')?.seconds).toBe(3 * 86_400);
    expect(vacation('require "vacation"; vacation :days 0 "x";')?.seconds).toBe(86_400);
    expect(vacation('require "vacation-seconds"; vacation :seconds 200000 "x";')?.seconds).toBe(200_000);
  });

  it('derives the same handle from the same arguments, and takes :handle', () => {
    const a = vacation('require "vacation"; vacation :subject "s" "x";')?.handle;
    const b = vacation('require "vacation"; vacation :subject "s" "x";')?.handle;
    const c = vacation('require "vacation"; vacation :subject "t" "x";')?.handle;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(vacation('require "vacation"; vacation :handle "h1" "x";')?.handle).toBe('h1');
  });

  it('sends nothing when RFC 3834 says not to', () => {
    const list = message('From: list@example.com\nTo: me@example.net\nList-Id: <l.example.com>\n\nhi\n');
    expect(summary(run('require "vacation"; vacation "away";', { message: list }))).toEqual([
      'implicit keep',
    ]);
    const bounce = { envelope: { from: '', to: 'me@example.net' } };
    expect(summary(run('require "vacation"; vacation "away";', bounce))).toEqual(['implicit keep']);
  });

  it('allows one vacation per run', () => {
    expect(run('require "vacation"; vacation "a"; vacation "b";').error?.reason).toMatch(
      /duplicate vacation/,
    );
  });
});

describe('editheader (RFC 5293)', () => {
  it('adds a field first, or last, and later tests see it', () => {
    const script = `require ["editheader"];
      addheader "X-Sieve" "yes";
      addheader :last "X-Last" "1";
      if header :is "x-sieve" "yes" { addheader "X-Seen" "ok"; }`;
    const result = run(script);
    const text = Buffer.from(result.editedMessage!).toString();
    expect(text.startsWith('X-Seen: ok\r\nX-Sieve: yes\r\nReturn-Path:')).toBe(true);
    expect(text).toContain('X-Spam-Score: 7\r\nX-Last: 1\r\n\r\nHello there');
  });

  it('deletes fields by name, index and value', () => {
    const msg = message('X-A: 1\nX-A: 2\nX-A: 3\nX-B: keep\n\nbody\n');
    const byValue = run('require "editheader"; deleteheader :matches "x-a" ["1", "3"];', { message: msg });
    expect(Buffer.from(byValue.editedMessage!).toString()).toBe('X-A: 2\r\nX-B: keep\r\n\r\nbody\r\n');
    const byIndex = run('require "editheader"; deleteheader :index 1 :last "X-A";', { message: msg });
    expect(Buffer.from(byIndex.editedMessage!).toString()).toBe(
      'X-A: 1\r\nX-A: 2\r\nX-B: keep\r\n\r\nbody\r\n',
    );
  });

  it('never deletes Received or Auto-Submitted', () => {
    const msg = message('Received: from x\nAuto-Submitted: auto-generated\n\nbody\n');
    const result = run('require "editheader"; deleteheader "received"; deleteheader "auto-submitted";', {
      message: msg,
    });
    expect(result.editedMessage).toBeNull();
  });

  it('encodes a non-ASCII value', () => {
    const result = run('require "editheader"; addheader "X-Note" "café";');
    expect(Buffer.from(result.editedMessage!).toString()).toMatch(/^X-Note: =\?UTF-8\?Q\?caf=C3=A9\?=\r\n/);
  });

  it('leaves the message alone without edits', () => {
    expect(run('keep;').editedMessage).toBeNull();
  });
});

describe('date and currentdate (RFC 5260)', () => {
  it('converts header dates to the run zone, or keeps the original zone', () => {
    expect(summary(run('require "date"; if date :is "date" "hour" "08" { discard; }'))).toEqual(['discard']);
    expect(summary(run('require "date"; if date :originalzone :is "date" "hour" "10" { discard; }'))).toEqual(
      ['discard'],
    );
    expect(
      summary(run('require "date"; if date :zone "-0500" :is "date" "time" "03:20:30" { discard; }')),
    ).toEqual(['discard']);
  });

  it('reads the clock for currentdate', () => {
    const script =
      'require ["date", "relational"]; if currentdate :value "ge" "date" "2025-04-01" { discard; }';
    expect(summary(run(script))).toEqual(['discard']);
    expect(summary(run('require "date"; if currentdate :zone "+0900" :is "hour" "21" { discard; }'))).toEqual(
      ['discard'],
    );
  });

  it('fails for a header without a date', () => {
    expect(summary(run('require "date"; if date :matches "subject" "date" "*" { discard; }'))).toEqual([
      'implicit keep',
    ]);
  });
});

describe('body (RFC 5173)', () => {
  const multipart = message(
    [
      'From: a@example.com',
      'Content-Type: multipart/mixed; boundary=XX',
      '',
      '--XX',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'caf=E9 au lait',
      '--XX',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      'c2VjcmV0IGJsb2I=',
      '--XX--',
      '',
    ].join('\n'),
  );

  it('searches decoded text parts by default', () => {
    expect(
      summary(run('require "body"; if body :contains "café" { discard; }', { message: multipart })),
    ).toEqual(['discard']);
    expect(
      summary(run('require "body"; if body :contains "secret" { discard; }', { message: multipart })),
    ).toEqual(['implicit keep']);
  });

  it('searches the parts of the :content types, decoded', () => {
    const script = 'require "body"; if body :content "application" :contains "secret blob" { discard; }';
    expect(summary(run(script, { message: multipart }))).toEqual(['discard']);
  });

  it('searches the undecoded body with :raw', () => {
    expect(
      summary(run('require "body"; if body :raw :contains "caf=E9" { discard; }', { message: multipart })),
    ).toEqual(['discard']);
  });
});

describe('include (RFC 6609)', () => {
  const scripts: Record<string, string> = {
    'personal:spam': 'require ["fileinto"]; if header :contains "subject" "world" { fileinto "Spam"; stop; }',
    'personal:ret': 'require ["include", "fileinto"]; return; fileinto "never";',
    'personal:setter': 'require ["include", "variables"]; global "shared"; set "shared" "from-include";',
    'global:flag': 'require "fileinto"; fileinto "G";',
  };
  const include = (location: 'personal' | 'global', name: string) => scripts[`${location}:${name}`] ?? null;
  const runWith = (script: string) => runSieve(compileSieve(script, { include }), input());

  it('runs included scripts in place; stop ends everything', () => {
    expect(summary(runWith('require ["include"]; include "spam"; discard;'))).toEqual(['fileinto Spam']);
  });

  it('returns from an included script only', () => {
    expect(summary(runWith('require ["include"]; include "ret"; discard;'))).toEqual(['discard']);
  });

  it('shares global variables', () => {
    const script =
      'require ["include", "variables", "fileinto"]; global "shared"; include "setter"; fileinto "${shared}";';
    expect(summary(runWith(script))).toEqual(['fileinto from-include']);
  });

  it('reads and writes the global namespace (RFC 6609 §3.5)', () => {
    const script = `require ["include", "variables", "fileinto"];
      set "global.shared" "direct";
      fileinto "\${global.shared}";`;
    expect(summary(runWith(script))).toEqual(['fileinto direct']);
  });

  it('runs :once scripts once, finds :global ones', () => {
    expect(
      summary(runWith('require "include"; include :global :once "flag"; include :global :once "flag";')),
    ).toEqual(['fileinto G']);
  });

  it('fails at run time for a missing script compiled without a lookup, unless :optional', () => {
    const runUnchecked = (script: string) => runSieve(compileSieve(script), input());
    expect(runUnchecked('require "include"; include "nothing";').error?.reason).toMatch(/does not exist/);
    expect(summary(runUnchecked('require "include"; include :optional "nothing"; discard;'))).toEqual([
      'discard',
    ]);
    expect(summary(runWith('require "include"; include :optional "nothing"; discard;'))).toEqual(['discard']);
  });
});

describe('duplicate (RFC 7352)', () => {
  it('asks about the Message-ID and marks it', () => {
    const result = run('require "duplicate"; if duplicate { discard; }');
    const key = duplicateKey('', '<abc@example.com>');
    expect(result.duplicateChecks).toEqual([key]);
    expect(result.duplicateMarks).toEqual([{ key, seconds: 7 * 86_400 }]);
    expect(summary(result)).toEqual(['implicit keep']);
  });

  it('answers from seenBefore, with a handle and :uniqueid', () => {
    const key = duplicateKey('h', 'id-1');
    const script = 'require "duplicate"; if duplicate :handle "h" :uniqueid "id-1" :seconds 60 { discard; }';
    const seen = run(script, { seenBefore: (asked) => asked === key });
    expect(summary(seen)).toEqual(['discard']);
    expect(seen.duplicateMarks).toEqual([]);
    const last = run(script.replace(':seconds 60', ':seconds 60 :last'), { seenBefore: () => true });
    expect(last.duplicateMarks).toEqual([{ key, seconds: 60 }]);
  });

  it('records nothing when the run fails', () => {
    const result = run('require ["duplicate", "reject"]; if duplicate { keep; } reject "a"; reject "b";');
    expect(result.error).not.toBeNull();
    expect(result.duplicateMarks).toEqual([]);
    expect(result.duplicateChecks).toHaveLength(1);
  });
});

describe('enotify (RFC 5435, RFC 5436)', () => {
  it('notifies by mailto, once per method', () => {
    const script = `require "enotify";
      notify :importance "1" :message "New mail" "mailto:alert@example.org";
      notify "mailto:alert@example.org";`;
    const result = run(script);
    expect(result.actions[0]).toMatchObject({ type: 'notify', importance: 1, message: 'New mail' });
    expect(summary(result)).toEqual(['notify mailto:alert@example.org', 'implicit keep']);
  });

  it('tests methods and their capabilities', () => {
    expect(
      summary(run('require "enotify"; if valid_notify_method "mailto:a@b.example" { discard; }')),
    ).toEqual(['discard']);
    expect(summary(run('require "enotify"; if valid_notify_method "xmpp:a@b.example" { discard; }'))).toEqual(
      ['implicit keep'],
    );
    const capability =
      'require "enotify"; if notify_method_capability "mailto:a@b.example" "Online" "maybe" { discard; }';
    expect(summary(run(capability))).toEqual(['discard']);
  });
});

describe('spamtest and virustest (RFC 5235)', () => {
  it('maps the score linearly to 1..10 with the threshold as 10', () => {
    expect(spamtestValue(null, false)).toBe('0');
    expect(spamtestValue({ score: -3, threshold: 5 }, false)).toBe('1');
    expect(spamtestValue({ score: 9, threshold: 5 }, false)).toBe('10');
    expect(spamtestValue({ score: 5, threshold: 5 }, false)).toBe('10');
    expect(spamtestValue({ score: 2.5, threshold: 5 }, true)).toBe('50');
  });

  it('truncates as Pigeonhole does: floor(9r + 1.001) and floor(100r + 0.001)', () => {
    // r = 2.2 / 6 = 0.3667: 4.30 and 36.67, where rounding would give 4 and 37.
    expect(spamtestValue({ score: 2.2, threshold: 6 }, false)).toBe('4');
    expect(spamtestValue({ score: 2.2, threshold: 6 }, true)).toBe('36');
    // r = 0.5: 5.501, where 1 + round(4.5) would give 6.
    expect(spamtestValue({ score: 2.5, threshold: 5 }, false)).toBe('5');
    // 100 × (5.8 / 10) is 57.99999… in binary floating point: the addend keeps it 58.
    expect(spamtestValue({ score: 5.8, threshold: 10 }, true)).toBe('58');
  });

  it('tests the value with relational comparisons', () => {
    const script = `require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
      if spamtest :value "ge" :comparator "i;ascii-numeric" "8" { fileinto "Junk"; }`;
    expect(summary(run(script, { spam: { score: 6, threshold: 5 } }))).toEqual(['fileinto Junk']);
    expect(summary(run(script, { spam: { score: 1, threshold: 5 } }))).toEqual(['implicit keep']);
    const percent = 'require "spamtestplus"; if spamtest :percent :is "0" { discard; }';
    expect(summary(run(percent))).toEqual(['discard']);
  });

  it('answers virustest with the scanner verdict', () => {
    const script =
      'require ["virustest", "relational", "comparator-i;ascii-numeric"]; if virustest :value "ge" :comparator "i;ascii-numeric" "4" { discard; }';
    expect(summary(run(script, { virus: 5 }))).toEqual(['discard']);
    expect(summary(run(script))).toEqual(['implicit keep']);
  });
});

describe('environment (RFC 5183) and mailbox (RFC 5490)', () => {
  it('tests the environment items it is given', () => {
    expect(summary(run('require "environment"; if environment :is "name" "Tegami" { discard; }'))).toEqual([
      'discard',
    ]);
    expect(
      summary(run('require "environment"; if environment :matches "remote-ip" "*" { discard; }')),
    ).toEqual(['implicit keep']);
  });

  it('tests mailboxes and files with :create', () => {
    const script = `require ["mailbox", "fileinto"];
      if mailboxexists "Lists" { fileinto "Lists"; } else { fileinto :create "New"; }`;
    expect(summary(run(script, { mailboxExists: (name) => name === 'Lists' }))).toEqual(['fileinto Lists']);
    expect(summary(run(script))).toEqual(['fileinto New :create']);
  });
});

describe('messages from the shared corpus', () => {
  const corpus = '/work/shared/corpus';
  const read = (name: string) => {
    try {
      return new Uint8Array(readFileSync(`${corpus}/${name}`));
    } catch {
      return null;
    }
  };

  it.each([
    'utf8-headers.eml',
    'nested-alternative-rfc822.eml',
    'iso2022jp-attachments.eml',
    'malformed.eml',
  ])('runs a script over %s without error', (name) => {
    const raw = read(name);
    if (raw === null) return;
    const script = `require ["body", "variables", "fileinto", "relational"];
        if header :matches "subject" "*" { set "s" "\${1}"; }
        if body :text :contains "a" { fileinto "has-a"; }
        if address :count "ge" ["from", "to", "cc"] "1" { keep; }`;
    const result = run(script, { message: raw });
    expect(result.error).toBeNull();
    expect(result.actions.length).toBeGreaterThan(0);
  });
});
