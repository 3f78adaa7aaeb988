import { describe, expect, it } from 'vitest';
import { SIEVE_EXTENSIONS } from '../sieve/index.js';
import { loggedIn, MemoryScripts, start } from './test-session.js';

// The examples of RFC 5804 §2, byte for byte where the RFC fixes the bytes; the human-readable
// texts are Tegami's own.

const SIEVE = `"SIEVE" "${SIEVE_EXTENSIONS.join(' ')}"\r\n`;

describe('the ManageSieve greeting and CAPABILITY (RFC 5804 §1.7, §2.4)', () => {
  it('greets with the capabilities, PLAIN and LOGIN left out before TLS', async () => {
    const h = start();
    h.session.greeting();
    expect(h.output()).toBe(
      '"IMPLEMENTATION" "Tegami"\r\n' +
        '"SASL" "SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5"\r\n' +
        SIEVE +
        '"MAXREDIRECTS" "4"\r\n' +
        '"NOTIFY" "mailto"\r\n' +
        '"STARTTLS"\r\n' +
        '"UNAUTHENTICATE"\r\n' +
        '"VERSION" "1.0"\r\n' +
        'OK "sieve.example.org ManageSieve ready"\r\n',
    );
  });

  it('answers CAPABILITY after login with the owner and without SASL or STARTTLS', async () => {
    const h = await loggedIn({ saslMechanisms: ['SCRAM-SHA-256', 'PLAIN'], maxRedirects: 2 });
    expect(await h.feed('CAPABILITY\r\n')).toBe(
      '"IMPLEMENTATION" "Tegami"\r\n' +
        SIEVE +
        '"MAXREDIRECTS" "2"\r\n' +
        '"NOTIFY" "mailto"\r\n' +
        '"OWNER" "alice@example.org"\r\n' +
        '"UNAUTHENTICATE"\r\n' +
        '"VERSION" "1.0"\r\n' +
        'OK "Capability completed"\r\n',
    );
  });

  it('says the capabilities again once TLS is on, and drops what came in clear behind STARTTLS (§2.2)', async () => {
    const h = start();
    expect(await h.feed('STARTTLS\r\nAUTHENTICATE "PLAIN" "AGEAYg=="\r\n')).toBe(
      'OK "Begin TLS negotiation now"\r\n',
    );
    expect(h.actions).toEqual(['starttls']);
    expect(await h.feed('LOGOUT\r\n')).toBe('');
    const before = h.output().length;
    h.session.tlsStarted();
    const again = h.output().slice(before);
    expect(again).toContain('"SASL" "SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN"\r\n');
    expect(again).not.toContain('"STARTTLS"');
    expect(again.endsWith('"VERSION" "1.0"\r\nOK "TLS negotiation successful"\r\n')).toBe(true);
    expect(await h.feed('STARTTLS\r\n')).toBe('NO "TLS is already active"\r\n');
  });

  it('refuses STARTTLS without a certificate', async () => {
    const h = start({ tls: 'unavailable' });
    expect(await h.feed('STARTTLS\r\n')).toBe('NO "STARTTLS is not available"\r\n');
  });
});

describe('the script commands (RFC 5804 §2.5–§2.12)', () => {
  it('HAVESPACE answers for the size and for the number of scripts (§2.5)', async () => {
    const scripts = new MemoryScripts(1);
    const h = await loggedIn({ maxScriptBytes: 1000 }, scripts);
    expect(await h.feed('HAVESPACE "myscript" 999999\r\n')).toBe(
      'NO (QUOTA/MAXSIZE) "scripts may be 1000 octets at most"\r\n',
    );
    expect(await h.feed('HAVESPACE "foobar" 435\r\n')).toBe('OK "Putscript would succeed"\r\n');
    scripts.scripts.set('other', 'keep;');
    expect(await h.feed('HAVESPACE "foobar" 435\r\n')).toBe(
      'NO (QUOTA/MAXSCRIPTS) "you have as many scripts as you may keep"\r\n',
    );
    expect(await h.feed('HAVESPACE "foobar" big\r\n')).toBe(
      'NO "HAVESPACE needs a script name and a size"\r\n',
    );
  });

  it('PUTSCRIPT stores a script that compiles and refuses one that does not, saying where (§2.6)', async () => {
    const h = await loggedIn();
    const bad = '#comment\r\nInvalidSieveCommand;\r\n';
    expect(await h.feed(`Putscript "foo" {${bad.length}+}\r\n${bad}\r\n`)).toMatch(
      /^NO "line 2, column 1: [^"\r\n]+"\r\n$/,
    );
    const good =
      'require ["fileinto", "envelope"];\r\n\r\nif envelope :contains "to" "tmartin+sent" {\r\n  fileinto "INBOX.sent";\r\n}';
    expect(await h.feed(`Putscript "mysievescript" {${good.length}+}\r\n${good}\r\n`)).toBe(
      'OK "Putscript completed"\r\n',
    );
    expect(h.scripts.scripts).toEqual(new Map([['mysievescript', good]]));
    // A quoted string is a string too.
    expect(await h.feed('PUTSCRIPT "short" "keep;"\r\n')).toBe('OK "Putscript completed"\r\n');
    expect(h.scripts.scripts.get('short')).toBe('keep;');
  });

  it('PUTSCRIPT refuses a script that is not UTF-8, and a name with a control character', async () => {
    const h = await loggedIn();
    const latin1 = Buffer.concat([
      Buffer.from('PUTSCRIPT "x" {6+}\r\n# caf'),
      Buffer.from([0xe9]),
      Buffer.from('\r\n'),
    ]);
    expect(await h.feed(latin1)).toBe('NO "the script is not UTF-8"\r\n');
    expect(await h.feed('PUTSCRIPT {3+}\r\na\tb "keep;"\r\n')).toBe(
      'NO "the script name holds a control character"\r\n',
    );
    expect(await h.feed('PUTSCRIPT "" "keep;"\r\n')).toBe('NO "the script name is empty"\r\n');
    expect(h.scripts.scripts.size).toBe(0);
  });

  it('PUTSCRIPT and CHECKSCRIPT warn of an include of a script that does not exist yet', async () => {
    const h = await loggedIn({}, new MemoryScripts(5, 1024 * 1024, ['spam']));
    const script =
      'require "include";\r\ninclude :personal "later";\r\ninclude :global "spam";\r\ninclude :global "nope";\r\ninclude :optional "maybe";\r\n';
    expect(await h.feed(`CHECKSCRIPT {${script.length}+}\r\n${script}\r\n`)).toBe(
      'OK (WARNINGS) {127}\r\n' +
        'line 2: include: there is no personal script named "later" (yet)\r\n' +
        'line 4: include: there is no global script named "nope" (yet)\r\n',
    );
    expect(h.scripts.scripts.size).toBe(0);
    expect(await h.feed('PUTSCRIPT "later" "keep;"\r\n')).toBe('OK "Putscript completed"\r\n');
    expect(await h.feed(`PUTSCRIPT "main" {${script.length}+}\r\n${script}\r\n`)).toBe(
      'OK (WARNINGS) "line 4: include: there is no global script named \\"nope\\" (yet)"\r\n',
    );
    expect(h.scripts.scripts.has('main')).toBe(true);
  });

  it('LISTSCRIPTS marks the active one (§2.7)', async () => {
    const h = await loggedIn();
    for (const name of ['summer_script', 'vacation_script', 'clever"script', 'main_script'])
      h.scripts.scripts.set(name, 'keep;');
    h.scripts.active = 'main_script';
    expect(await h.feed('Listscripts\r\n')).toBe(
      '"clever\\"script"\r\n' +
        '"main_script" ACTIVE\r\n' +
        '"summer_script"\r\n' +
        '"vacation_script"\r\n' +
        'OK "Listscripts completed"\r\n',
    );
  });

  it('SETACTIVE activates a script, "" deactivates, a missing one is NONEXISTENT (§2.8)', async () => {
    const h = await loggedIn();
    h.scripts.scripts.set('vacationscript', 'keep;');
    expect(await h.feed('Setactive "vacationscript"\r\n')).toBe('OK "Setactive completed"\r\n');
    expect(h.scripts.active).toBe('vacationscript');
    expect(await h.feed('Setactive ""\r\n')).toBe('OK "No script is active now"\r\n');
    expect(h.scripts.active).toBeNull();
    expect(await h.feed('Setactive "baz"\r\n')).toBe(
      'NO (NONEXISTENT) "there is no script by that name"\r\n',
    );
  });

  it('GETSCRIPT returns the script byte for byte as a literal (§2.9)', async () => {
    const h = await loggedIn();
    h.scripts.scripts.set('myscript', '#this is my wonderful script\r\nreject "I reject all";\r\n');
    expect(await h.feed('Getscript "myscript"\r\n')).toBe(
      '{54}\r\n#this is my wonderful script\r\nreject "I reject all";\r\n\r\nOK "Getscript completed"\r\n',
    );
    h.scripts.scripts.set('ünïcode', 'keep; # ✓');
    expect(await h.feed('GETSCRIPT "ünïcode"\r\n')).toBe('{11}\r\nkeep; # ✓\r\nOK "Getscript completed"\r\n');
    expect(await h.feed('Getscript "nope"\r\n')).toBe(
      'NO (NONEXISTENT) "there is no script by that name"\r\n',
    );
  });

  it('DELETESCRIPT deletes, but never the active script (§2.10)', async () => {
    const h = await loggedIn();
    h.scripts.scripts.set('foo', 'keep;');
    h.scripts.scripts.set('baz', 'keep;');
    h.scripts.active = 'baz';
    expect(await h.feed('Deletescript "foo"\r\n')).toBe('OK "Deletescript completed"\r\n');
    expect(await h.feed('Deletescript "baz"\r\n')).toBe(
      'NO (ACTIVE) "the active script cannot be deleted"\r\n',
    );
    expect(await h.feed('Deletescript "foo"\r\n')).toBe(
      'NO (NONEXISTENT) "there is no script by that name"\r\n',
    );
    expect([...h.scripts.scripts.keys()]).toEqual(['baz']);
  });

  it('RENAMESCRIPT renames, keeping the script active (§2.11.1)', async () => {
    const h = await loggedIn();
    h.scripts.scripts.set('foo', 'keep;');
    h.scripts.scripts.set('bar', 'discard;');
    h.scripts.active = 'foo';
    expect(await h.feed('Renamescript "foo" "bar"\r\n')).toBe(
      'NO (ALREADYEXISTS) "a script by the new name exists already"\r\n',
    );
    expect(await h.feed('Renamescript "nope" "new"\r\n')).toBe(
      'NO (NONEXISTENT) "there is no script by that name"\r\n',
    );
    expect(await h.feed('Renamescript "foo" "main"\r\n')).toBe('OK "Renamescript completed"\r\n');
    expect(h.scripts.active).toBe('main');
  });

  it('CHECKSCRIPT checks without storing (§2.12)', async () => {
    const h = await loggedIn();
    const bad = '#comment\r\nInvalidSieveCommand;\r\n';
    expect(await h.feed(`CheckScript {${bad.length}+}\r\n${bad}\r\n`)).toMatch(/^NO "line 2, column 1: /);
    expect(await h.feed('CHECKSCRIPT "keep;"\r\n')).toBe('OK "Script is valid"\r\n');
    expect(h.scripts.scripts.size).toBe(0);
  });
});

describe('the other commands', () => {
  it('NOOP echoes its tag (§2.13)', async () => {
    const h = start();
    expect(await h.feed('NOOP "STARTTLS-SYNC-42"\r\n')).toBe('OK (TAG "STARTTLS-SYNC-42") "Done"\r\n');
    expect(await h.feed('noop\r\n')).toBe('OK "Done"\r\n');
  });

  it('UNAUTHENTICATE goes back to before the login (§2.14.1)', async () => {
    const loggedOut: string[] = [];
    const h = await loggedIn({}, new MemoryScripts(), {
      loggedOut: (identity) => loggedOut.push(identity.address),
    });
    expect(await h.feed('UNAUTHENTICATE\r\n')).toBe('OK "Unauthenticate completed"\r\n');
    expect(loggedOut).toEqual(['alice@example.org']);
    expect(await h.feed('LISTSCRIPTS\r\n')).toBe('NO "authenticate first"\r\n');
    expect(await h.feed('UNAUTHENTICATE\r\n')).toBe('NO "authenticate first"\r\n');
  });

  it('LOGOUT says OK and closes (§2.3), ignoring what follows', async () => {
    const h = start();
    expect(await h.feed('LOGOUT\r\nNOOP\r\n')).toBe('OK "Logout completed"\r\n');
    expect(h.actions).toEqual(['close']);
    expect(await h.feed('NOOP\r\n')).toBe('');
  });

  it('answers NO to an unknown command, a script command before login, and a malformed line', async () => {
    const h = start();
    expect(await h.feed('FROB\r\n')).toBe('NO "unknown command"\r\n');
    expect(await h.feed('GETSCRIPT "x"\r\n')).toBe('NO "authenticate first"\r\n');
    expect(await h.feed('"quoted" first\r\n')).toBe('NO "a command name is needed"\r\n');
    expect(await h.feed('GETSCRIPT "x\r\n')).toBe(
      'NO "invalid command: CR, LF or NUL in a quoted string"\r\n',
    );
    expect(await h.feed('CAPABILITY extra\r\n')).toBe('NO "this command takes no arguments"\r\n');
  });

  it('answers TRYLATER when the store fails, and goes on', async () => {
    const failed: string[] = [];
    const h = await loggedIn({}, new MemoryScripts(), { commandFailed: (command) => failed.push(command) });
    h.scripts.broken = true;
    expect(await h.feed('LISTSCRIPTS\r\n')).toBe('NO (TRYLATER) "internal error, try again later"\r\n');
    expect(failed).toEqual(['LISTSCRIPTS']);
    h.scripts.broken = false;
    expect(await h.feed('LISTSCRIPTS\r\n')).toBe('OK "Listscripts completed"\r\n');
  });

  it('reports each command for the metrics', async () => {
    const done: string[] = [];
    const h = start({}, new MemoryScripts(), {
      commandDone: (command, status) => done.push(`${command} ${status}`),
    });
    await h.feed('NOOP\r\nFROB\r\nGETSCRIPT "x"\r\n"x"\r\nLOGOUT\r\n');
    expect(done).toEqual(['NOOP ok', 'OTHER no', 'GETSCRIPT no', 'INVALID no', 'LOGOUT ok']);
  });
});
