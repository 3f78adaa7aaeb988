import { mailboxNameProblem, type SpecialUseAttribute } from '@tegami/protocol';

// Which folders of the source `tegami import imap` copies, and into which Tegami mailbox
// each goes: pure, from the source's LIST (as imapflow reports it) and the account's
// special-use mailboxes, so every rule is tested without a server.
//
//  - Names: the source's levels (its own delimiter, "." on many Dovecots) become Tegami's
//    "/" levels; a personal namespace prefix ("INBOX." on Courier and old Dovecots) is
//    dropped, so INBOX.Sent becomes Sent, not INBOX/Sent.
//  - Special use (RFC 6154): the source's \Sent, \Drafts, \Trash, \Junk and \Archive folders
//    (said by the server, or guessed from well-known names such as "Sent Items" when it says
//    nothing) go into the Tegami mailbox of that use, with their subfolders below it; one
//    source folder per use, the server's word before a guess.
//  - \All and \Flagged folders are views of the others' messages (Gmail's All Mail, Dovecot's
//    virtual folders): skipped unless --folder names one exactly. \Noselect names hold no
//    messages: skipped, their children are not.

/** One entry of the source's LIST, as imapflow's list() gives it. */
export interface ListedFolder {
  /** Unicode, the source's delimiter between levels. */
  readonly path: string;
  readonly delimiter: string | null | undefined;
  readonly flags: ReadonlySet<string>;
  readonly specialUse?: string | undefined;
  /** How specialUse was learnt: the server's attribute ('extension') or a guess by name ('name'). */
  readonly specialUseSource?: string | undefined;
  readonly subscribed: boolean;
}

export interface PlannedFolder {
  /** The source's path, to open it (and the key of its progress). */
  readonly sourcePath: string;
  /** The source name with "/" between levels, as --folder matches and the summary shows it. */
  readonly sourceName: string;
  /** The Tegami mailbox that receives its messages. */
  readonly target: string;
  /** A use the target should take when the account has no mailbox of that use. */
  readonly claimUse?: SpecialUseAttribute;
  readonly subscribed: boolean;
}

export interface SkippedFolder {
  readonly sourceName: string;
  readonly reason: string;
}

export interface FolderPlanOptions {
  /** The personal namespace's prefix (NAMESPACE, RFC 2342): "INBOX." or "". */
  readonly namespacePrefix?: string | undefined;
  /** Patterns of --folder: only the folders one of them matches. */
  readonly include?: readonly string[];
  /** Patterns of --exclude. */
  readonly exclude?: readonly string[];
  /** The account's mailboxes by special use. */
  readonly targetUses: ReadonlyMap<SpecialUseAttribute, string>;
}

const MAPPED_USES: readonly SpecialUseAttribute[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'];
const VIEW_USES: ReadonlySet<string> = new Set(['\\All', '\\Flagged']);

/**
 * A --folder or --exclude value: comma-separated patterns matched against whole source
 * names ("/" between levels), `*` any characters, `%` any but "/" (IMAP LIST's wildcards).
 */
export function parseFolderPatterns(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

export function folderMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : c.replace(/[\\^$.|?+()[\]{}]/g, '\\$&')))
    .join('');
  // INBOX is case-insensitive (RFC 3501 §5.1), the rest is not.
  const subject = /^inbox(\/|$)/i.test(name) ? `INBOX${name.slice(5)}` : name;
  const wanted = /^inbox(\/|$)/i.test(pattern) ? `INBOX${source.slice(5)}` : source;
  return new RegExp(`^${wanted}$`, 'u').test(subject);
}

/** The source's name with "/" between levels and without the personal namespace's prefix. */
export function sourceNameOf(folder: ListedFolder, namespacePrefix = ''): string {
  let path = folder.path;
  if (/^inbox$/i.test(path)) return 'INBOX';
  if (namespacePrefix !== '' && path.startsWith(namespacePrefix) && path.length > namespacePrefix.length)
    path = path.slice(namespacePrefix.length);
  const delimiter = folder.delimiter;
  const levels = delimiter ? path.split(delimiter) : [path];
  if (/^inbox$/i.test(levels[0]!)) levels[0] = 'INBOX';
  return levels.join('/');
}

export function planFolders(
  listed: readonly ListedFolder[],
  options: FolderPlanOptions,
): { folders: PlannedFolder[]; skipped: SkippedFolder[] } {
  const include = options.include ?? [];
  const exclude = options.exclude ?? [];
  const named = listed.map((folder) => ({
    folder,
    sourceName: sourceNameOf(folder, options.namespacePrefix),
  }));

  // One source folder per use: the server's own attribute first, then a guess by name.
  const claimed = new Map<string, { use: SpecialUseAttribute; sourceName: string }>();
  const usesTaken = new Set<string>();
  const guessed = (entry: (typeof named)[number]) => (entry.folder.specialUseSource === 'name' ? 1 : 0);
  for (const { folder, sourceName } of [...named].sort((a, b) => guessed(a) - guessed(b))) {
    const use = folder.specialUse as SpecialUseAttribute | undefined;
    if (use === undefined || !MAPPED_USES.includes(use) || usesTaken.has(use)) continue;
    usesTaken.add(use);
    claimed.set(sourceName, { use, sourceName });
  }

  const targetOf = (sourceName: string): { target: string; claimUse?: SpecialUseAttribute } => {
    for (const [root, { use }] of claimed) {
      const base = options.targetUses.get(use) ?? root;
      if (sourceName === root)
        return { target: base, ...(!options.targetUses.has(use) && { claimUse: use }) };
      if (sourceName.startsWith(`${root}/`)) return { target: base + sourceName.slice(root.length) };
    }
    return { target: sourceName };
  };

  const folders: PlannedFolder[] = [];
  const skipped: SkippedFolder[] = [];
  for (const { folder, sourceName } of named) {
    if (include.length > 0 && !include.some((p) => folderMatches(p, sourceName))) continue;
    if (exclude.some((p) => folderMatches(p, sourceName))) {
      skipped.push({ sourceName, reason: 'excluded (--exclude)' });
      continue;
    }
    const flags = new Set([...folder.flags].map((f) => f.toLowerCase()));
    if (flags.has('\\noselect') || flags.has('\\nonexistent')) continue;
    if (
      (VIEW_USES.has(folder.specialUse ?? '') || flags.has('\\all') || flags.has('\\flagged')) &&
      !include.includes(sourceName)
    ) {
      skipped.push({
        sourceName,
        reason: `a view of other folders' messages (${folder.specialUse ?? '\\All'}); --folder '${sourceName}' copies it`,
      });
      continue;
    }
    const { target, claimUse } = targetOf(sourceName);
    const problem = mailboxNameProblem(target);
    if (problem !== undefined) {
      skipped.push({ sourceName, reason: `not a name Tegami takes: ${problem}` });
      continue;
    }
    folders.push({
      sourcePath: folder.path,
      sourceName,
      target,
      ...(claimUse && { claimUse }),
      subscribed: folder.subscribed,
    });
  }
  return { folders, skipped };
}
