import { describe, expect, it } from 'vitest';
import { canonicalName, mailboxNameProblem, newMailboxNameProblem } from './mailbox-names.js';

describe('mailbox names', () => {
  it('no mailbox can be empty, have an empty level or a control character', () => {
    for (const name of ['', '/', '/bob/INBOX', 'a//b', 'a/', 'a\u0000b', 'a\rb', 'a\u007fb']) {
      expect(mailboxNameProblem(name), JSON.stringify(name)).toBeDefined();
    }
    for (const name of ['INBOX', 'a/b', 'Été', 'a*b', 'x'.repeat(5_000)]) {
      expect(mailboxNameProblem(name), name).toBeUndefined();
    }
  });

  it('a new name has at most 1,000 UTF-8 octets and 32 levels, and no LIST wildcard', () => {
    expect(newMailboxNameProblem('x'.repeat(1_000))).toBeUndefined();
    expect(newMailboxNameProblem('x'.repeat(1_001))).toBe('longer than 1000 octets');
    expect(newMailboxNameProblem('\u65e5'.repeat(334))).toBe('longer than 1000 octets');
    expect(newMailboxNameProblem(Array.from({ length: 32 }, () => 'a').join('/'))).toBeUndefined();
    expect(newMailboxNameProblem(Array.from({ length: 33 }, () => 'a').join('/'))).toBe(
      'deeper than 32 levels',
    );
    expect(newMailboxNameProblem('a%')).toBe('the LIST wildcards * and % are not allowed');
    expect(newMailboxNameProblem('')).toBe('the name is empty');
  });

  it('INBOX is case-insensitive, at the top only', () => {
    expect(canonicalName('inbox')).toBe('INBOX');
    expect(canonicalName('Inbox/Sub')).toBe('INBOX/Sub');
    expect(canonicalName('a/inbox')).toBe('a/inbox');
  });
});
