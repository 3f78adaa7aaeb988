import { describe, expect, it } from 'vitest';
import { mailboxPlace, sharedName } from './shared-mailboxes.js';

describe('the Other Users namespace (RFC 2342)', () => {
  it('maps Other Users/<owner>/<name> to the owner and its own name', () => {
    expect(mailboxPlace('Other Users/carol@example.org/Projects/2026')).toEqual({
      kind: 'shared',
      owner: 'carol@example.org',
      name: 'Projects/2026',
    });
    expect(sharedName('carol@example.org', 'INBOX')).toBe('Other Users/carol@example.org/INBOX');
  });

  it("takes the namespace and an owner alone as no mailbox, and anything else as the user's own", () => {
    expect(mailboxPlace('Other Users')).toEqual({ kind: 'namespace' });
    expect(mailboxPlace('Other Users/carol@example.org')).toEqual({ kind: 'namespace' });
    expect(mailboxPlace('Other Users//x')).toEqual({ kind: 'namespace' });
    expect(mailboxPlace('Other Usersx/y')).toEqual({ kind: 'own', name: 'Other Usersx/y' });
    expect(mailboxPlace('INBOX')).toEqual({ kind: 'own', name: 'INBOX' });
  });
});
