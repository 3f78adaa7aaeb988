import type { SpecialUseAttribute } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { folderMatches, type ListedFolder, parseFolderPatterns, planFolders } from './imap-folder-plan.js';
import { uidSet } from './imap-import.js';

const folder = (path: string, extra: Partial<ListedFolder> = {}): ListedFolder => ({
  path,
  delimiter: '.',
  flags: new Set(),
  subscribed: true,
  ...extra,
});
const DEFAULT_USES = new Map<SpecialUseAttribute, string>([
  ['\\Sent', 'Sent'],
  ['\\Drafts', 'Drafts'],
  ['\\Trash', 'Trash'],
  ['\\Junk', 'Junk'],
  ['\\Archive', 'Archive'],
]);
const targets = (plan: ReturnType<typeof planFolders>) =>
  Object.fromEntries(plan.folders.map((f) => [f.sourceName, f.target]));

describe('which source folders go into which mailbox', () => {
  it("turns the source's delimiter into / and keeps Unicode names as they are", () => {
    const plan = planFolders([folder('INBOX'), folder('Work.Projects'), folder('Räume und Zeit')], {
      targetUses: DEFAULT_USES,
    });
    expect(targets(plan)).toEqual({
      INBOX: 'INBOX',
      'Work/Projects': 'Work/Projects',
      'Räume und Zeit': 'Räume und Zeit',
    });
  });

  it('drops the personal namespace prefix of Courier-style servers (INBOX.Sent is Sent)', () => {
    const plan = planFolders([folder('INBOX'), folder('INBOX.Lists.dev')], {
      namespacePrefix: 'INBOX.',
      targetUses: DEFAULT_USES,
    });
    expect(targets(plan)).toEqual({ INBOX: 'INBOX', 'Lists/dev': 'Lists/dev' });
  });

  it('puts a special-use folder and its subfolders into the mailbox of that use', () => {
    const plan = planFolders(
      [
        folder('Sent Messages', { specialUse: '\\Sent', specialUseSource: 'extension' }),
        folder('Sent Messages.2019'),
        folder('Deleted Items', { specialUse: '\\Trash', specialUseSource: 'name' }),
      ],
      { targetUses: DEFAULT_USES },
    );
    expect(targets(plan)).toEqual({
      'Sent Messages': 'Sent',
      'Sent Messages/2019': 'Sent/2019',
      'Deleted Items': 'Trash',
    });
  });

  it("maps one source folder per use, the server's attribute before a guess by name", () => {
    const plan = planFolders(
      [
        folder('Sent', { specialUse: '\\Sent', specialUseSource: 'name' }),
        folder('Gesendet', { specialUse: '\\Sent', specialUseSource: 'extension' }),
      ],
      { targetUses: new Map([['\\Sent', 'Sent Mail']]) },
    );
    expect(targets(plan)).toEqual({ Sent: 'Sent', Gesendet: 'Sent Mail' });
  });

  it('gives the use to the new mailbox when the account has none of it', () => {
    const plan = planFolders([folder('Drafts', { specialUse: '\\Drafts', specialUseSource: 'extension' })], {
      targetUses: new Map(),
    });
    expect(plan.folders).toEqual([
      {
        sourcePath: 'Drafts',
        sourceName: 'Drafts',
        target: 'Drafts',
        claimUse: '\\Drafts',
        subscribed: true,
      },
    ]);
  });

  it('skips views of other folders (\\All, \\Flagged) unless named, and \\Noselect names', () => {
    const listed = [
      folder('INBOX'),
      folder('[Gmail]', { flags: new Set(['\\Noselect']) }),
      folder('[Gmail].All Mail', { specialUse: '\\All', flags: new Set(['\\All']) }),
    ];
    const plan = planFolders(listed, { targetUses: DEFAULT_USES });
    expect(targets(plan)).toEqual({ INBOX: 'INBOX' });
    expect(plan.skipped).toEqual([
      { sourceName: '[Gmail]/All Mail', reason: expect.stringMatching(/a view/) },
    ]);
    const named = planFolders(listed, { include: ['[Gmail]/All Mail'], targetUses: DEFAULT_USES });
    expect(targets(named)).toEqual({ '[Gmail]/All Mail': '[Gmail]/All Mail' });
  });

  it('copies only what --folder names and nothing --exclude names', () => {
    const listed = [folder('INBOX'), folder('Work'), folder('Work.A'), folder('Work.A.Deep'), folder('Old')];
    const only = planFolders(listed, {
      include: parseFolderPatterns('inbox, Work/%'),
      targetUses: DEFAULT_USES,
    });
    expect(Object.keys(targets(only))).toEqual(['INBOX', 'Work/A']);
    const but = planFolders(listed, { exclude: parseFolderPatterns('Work*'), targetUses: DEFAULT_USES });
    expect(Object.keys(targets(but))).toEqual(['INBOX', 'Old']);
    expect(but.skipped.map((s) => s.reason)).toEqual(Array(3).fill('excluded (--exclude)'));
  });

  it('matches patterns as IMAP LIST does: * crosses levels, % does not, the rest is literal', () => {
    expect(folderMatches('Work/*', 'Work/A/Deep')).toBe(true);
    expect(folderMatches('Work/%', 'Work/A/Deep')).toBe(false);
    expect(folderMatches('a.b', 'aXb')).toBe(false);
    expect(folderMatches('INBOX/*', 'inbox/x')).toBe(true);
  });
});

describe('the UID sets of a batch', () => {
  it('writes runs of UIDs as ranges', () => {
    expect(uidSet([1, 2, 3, 7, 9, 10])).toBe('1:3,7,9:10');
    expect(uidSet([42])).toBe('42');
  });
});
