// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve writes its variables as ${name}
import { describe, expect, it } from 'vitest';
import { compileSieve } from './compile-script.js';
import { runSieve } from './interpret.js';
import { input, message, run, summary } from './test-run.js';

describe('runSieve: the implicit keep (RFC 5228 §2.10.2)', () => {
  it('keeps a message the script does nothing with', () => {
    expect(summary(run(''))).toEqual(['implicit keep']);
    expect(summary(run('if false { discard; }'))).toEqual(['implicit keep']);
  });

  it('is cancelled by discard, fileinto, redirect and keep', () => {
    expect(summary(run('discard;'))).toEqual(['discard']);
    expect(summary(run('require "fileinto"; fileinto "Junk";'))).toEqual(['fileinto Junk']);
    expect(summary(run('redirect "bob@example.org";'))).toEqual(['redirect bob@example.org']);
    expect(summary(run('keep;'))).toEqual(['keep']);
  });

  it('is not cancelled by :copy (RFC 3894)', () => {
    expect(
      summary(run('require ["copy", "fileinto"]; fileinto :copy "Archive"; redirect :copy "a@b.example";')),
    ).toEqual(['fileinto Archive :copy', 'redirect a@b.example :copy', 'implicit keep']);
  });

  it('merges with a fileinto :copy "INBOX"', () => {
    expect(summary(run('require ["copy", "fileinto"]; fileinto :copy "inbox";'))).toEqual([
      'fileinto inbox :copy',
    ]);
  });
});

describe('runSieve: duplicate actions (RFC 5228 §2.10.3)', () => {
  it('files into one mailbox once', () => {
    expect(summary(run('require "fileinto"; fileinto "a"; fileinto "a"; fileinto "b";'))).toEqual([
      'fileinto a',
      'fileinto b',
    ]);
  });

  it('takes keep and fileinto "INBOX" as one', () => {
    expect(summary(run('require "fileinto"; keep; fileinto "INBOX";'))).toEqual(['keep']);
  });

  it('redirects to one address once, the domain without case', () => {
    expect(
      summary(run('redirect "a@Example.org"; redirect "a@example.ORG"; redirect "A@example.org";')),
    ).toEqual(['redirect a@Example.org', 'redirect A@example.org']);
  });
});

describe('runSieve: control (RFC 5228 §3)', () => {
  it('runs the first branch of if/elsif/else whose test holds', () => {
    const script = `require "fileinto";
      if header :is "x-none" "1" { fileinto "one"; }
      elsif header :contains "subject" "world" { fileinto "two"; }
      elsif true { fileinto "three"; }
      else { fileinto "four"; }`;
    expect(summary(run(script))).toEqual(['fileinto two']);
  });

  it('stops at stop, with the implicit keep still standing', () => {
    expect(summary(run('if true { stop; } discard;'))).toEqual(['implicit keep']);
  });

  it('says whether the script ended with stop (or a top-level return, RFC 6609 §3.3)', () => {
    expect(run('stop;').stopped).toBe(true);
    expect(run('require "include"; return; discard;').stopped).toBe(true);
    expect(run('keep;').stopped).toBe(false);
  });

  it('evaluates allof, anyof and not', () => {
    expect(summary(run('if allof (true, not false) { discard; }'))).toEqual(['discard']);
    expect(summary(run('if anyof (false, false) { discard; }'))).toEqual(['implicit keep']);
    expect(summary(run('if not anyof (false, true) { discard; }'))).toEqual(['implicit keep']);
  });
});

describe('runSieve: tests of the header (RFC 5228 §5)', () => {
  it('decodes RFC 2047 words before comparing (§2.7.2)', () => {
    expect(summary(run('if header :is "subject" "Héllo world" { discard; }'))).toEqual(['discard']);
  });

  it('compares without case by default', () => {
    expect(summary(run('if header :contains "SUBJECT" "WORLD" { discard; }'))).toEqual(['discard']);
  });

  it('unfolds folded values', () => {
    const folded = message('From: a@example.com\nSubject: one\n two\n\nbody\n');
    expect(summary(run('if header :is "subject" "one two" { discard; }', { message: folded }))).toEqual([
      'discard',
    ]);
  });

  it('tests addresses with address parts (§5.1)', () => {
    expect(summary(run('if address :is :all "from" "alice@example.com" { discard; }'))).toEqual(['discard']);
    expect(summary(run('if address :is :localpart "from" "alice" { discard; }'))).toEqual(['discard']);
    expect(summary(run('if address :is :domain "to" "EXAMPLE.ORG" { discard; }'))).toEqual(['discard']);
    expect(summary(run('if address :is "from" "Alice Example" { discard; }'))).toEqual(['implicit keep']);
  });

  it('splits subaddresses (RFC 5233)', () => {
    expect(summary(run('require "subaddress"; if address :detail "to" "lists" { discard; }'))).toEqual([
      'discard',
    ]);
    expect(summary(run('require "subaddress"; if address :user "to" "bob" { discard; }'))).toEqual([
      'discard',
    ]);
    expect(summary(run('require "subaddress"; if address :detail :matches "from" "*" { discard; }'))).toEqual(
      ['implicit keep'],
    );
  });

  it('knows which headers exist (§5.5)', () => {
    expect(summary(run('if exists ["From", "Date"] { discard; }'))).toEqual(['discard']);
    expect(summary(run('if exists ["From", "X-Nope"] { discard; }'))).toEqual(['implicit keep']);
  });

  it('compares the size (§5.9)', () => {
    expect(summary(run('if size :over 100 { discard; }'))).toEqual(['discard']);
    expect(summary(run('if size :under 1K { discard; }'))).toEqual(['discard']);
    expect(summary(run('if size :over 1M { discard; }'))).toEqual(['implicit keep']);
  });

  it('counts header values with relational :count (RFC 5231)', () => {
    const script = `require ["relational", "comparator-i;ascii-numeric"];
      if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "2" { discard; }`;
    expect(summary(run(script))).toEqual(['discard']);
  });

  it('selects one field with :index (RFC 5260 §6)', () => {
    const twice = message('Received: from a\nReceived: from b\nSubject: x\n\nbody\n');
    const first = 'require "index"; if header :index 1 :is "received" "from a" { discard; }';
    const last = 'require "index"; if header :index 1 :last :is "received" "from b" { discard; }';
    expect(summary(run(first, { message: twice }))).toEqual(['discard']);
    expect(summary(run(last, { message: twice }))).toEqual(['discard']);
  });
});

describe('runSieve: envelope (RFC 5228 §5.4)', () => {
  it('tests the envelope sender and recipient', () => {
    expect(
      summary(run('require "envelope"; if envelope :is "from" "sender@example.com" { discard; }')),
    ).toEqual(['discard']);
    expect(
      summary(run('require ["envelope", "subaddress"]; if envelope :detail "to" "tag" { discard; }')),
    ).toEqual(['discard']);
  });

  it('matches the null sender as the empty string whatever the part', () => {
    const bounce = { envelope: { from: '', to: 'me@example.net' } };
    expect(
      summary(run('require "envelope"; if envelope :domain :is "from" "" { discard; }', bounce)),
    ).toEqual(['discard']);
  });

  it('has no auth part for an unauthenticated delivery', () => {
    expect(summary(run('require "envelope"; if envelope :matches "auth" "*" { discard; }'))).toEqual([
      'implicit keep',
    ]);
    const authed = { envelope: { from: 'a@b.example', to: 'me@example.net', auth: 'alice' } };
    expect(summary(run('require "envelope"; if envelope :is "auth" "alice" { discard; }', authed))).toEqual([
      'discard',
    ]);
  });
});

describe('runSieve: variables (RFC 5229)', () => {
  it('sets and expands variables, names without case', () => {
    const script = `require ["variables", "fileinto"];
      set "Folder" "lists";
      set :upperfirst "sub" "acme";
      fileinto "\${folder}.\${SUB}";`;
    expect(summary(run(script))).toEqual(['fileinto lists.Acme']);
  });

  it('keeps match variables of the last successful :matches', () => {
    const script = `require ["variables", "fileinto"];
      if header :matches "from" "* <*@*>" { set "who" "\${2}"; }
      if header :matches "x-none" "*" { set "who" "never"; }
      fileinto "from-\${who}";`;
    expect(summary(run(script))).toEqual(['fileinto from-alice']);
  });

  it('expands keys before matching, wildcards in values included', () => {
    const script = `require ["variables"]; set "pattern" "*world"; if header :matches "subject" "\${pattern}" { discard; }`;
    expect(summary(run(script))).toEqual(['discard']);
  });

  it('tests strings, comparing with i;octet as Pigeonhole does', () => {
    expect(summary(run('require "variables"; if string :is "abc" "abc" { discard; }'))).toEqual(['discard']);
    expect(summary(run('require "variables"; if string :is "abc" "ABC" { discard; }'))).toEqual([
      'implicit keep',
    ]);
    const counted =
      'require ["variables", "relational"]; if string :count "eq" ["a", "", "b"] "2" { discard; }';
    expect(summary(run(counted))).toEqual(['discard']);
  });

  it('does not expand without require "variables"', () => {
    expect(summary(run('require "fileinto"; fileinto "${x}";'))).toEqual(['fileinto ${x}']);
  });

  it('captures regex groups as match variables', () => {
    const script = `require ["variables", "regex", "fileinto"];
      if header :regex "message-id" "^<([a-z]+)@(.*)>$" { fileinto "\${1}/\${2}"; }`;
    expect(summary(run(script))).toEqual(['fileinto abc/example.com']);
  });
});

describe('runSieve: run-time errors (RFC 5228 §2.10.6)', () => {
  it('falls back to the implicit keep alone, with the error', () => {
    const result = run('require "fileinto"; fileinto "a"; redirect "1@x.example"; redirect "2@x.example";', {
      limits: { maxRedirects: 1 },
    });
    expect(summary(result)).toEqual(['implicit keep']);
    expect(result.error?.reason).toMatch(/redirect actions exceeds policy limit/);
    expect(result.error?.position).toEqual({ line: 1, column: 59 });
  });

  it('bounds the actions and the steps', () => {
    const many = Array.from({ length: 5 }, (_, i) => `fileinto "f${i}";`).join(' ');
    expect(run(`require "fileinto"; ${many}`, { limits: { maxActions: 3 } }).error?.reason).toMatch(
      /actions/,
    );
    const busy = `if true { ${'if header :contains "subject" "x" { keep; } '.repeat(50)} }`;
    expect(run(busy, { limits: { maxSteps: 20 } }).error?.reason).toMatch(/steps/);
  });

  it('refuses an address or mailbox built at run time that is invalid', () => {
    expect(run('require "variables"; set "a" "nobody"; redirect "${a}";').error?.reason).toMatch(
      /redirect address/,
    );
    expect(run('require ["variables", "fileinto"]; fileinto "${none}";').error?.reason).toMatch(
      /invalid folder name/,
    );
  });

  it('refuses a regex built at run time that is invalid', () => {
    const result = run(
      'require ["variables", "regex"]; set "p" "(a"; if header :regex "subject" "${p}" { discard; }',
    );
    expect(result.error?.reason).toMatch(/unmatched/);
    expect(summary(result)).toEqual(['implicit keep']);
  });

  it('refuses reject with an action that delivers (RFC 5429 §2.3)', () => {
    expect(run('require ["reject", "fileinto"]; fileinto "a"; reject "no";').error?.reason).toMatch(
      /conflicts/,
    );
    expect(run('require "reject"; reject "no"; keep;').error?.reason).toMatch(/conflicts/);
    expect(run('require "reject"; reject "a"; reject "b";').error?.reason).toMatch(/duplicate reject/);
    expect(summary(run('require "reject"; reject "no"; discard;'))).toEqual(['reject no', 'discard']);
  });
});

describe('runSieve: a script compiled once, run many times', () => {
  it('gives the same answer on each run', () => {
    const compiled = compileSieve(
      'require "fileinto"; if header :contains "subject" "world" { fileinto "w"; }',
    );
    const first = runSieve(compiled, input());
    const second = runSieve(compiled, input());
    expect(second).toEqual(first);
  });
});
