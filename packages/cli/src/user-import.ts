import { parseLegacyPasswordHash } from '@tegami/protocol/legacy-password-hash';
import type { ImportUserOptions, ImportUserOutcome, StorePool } from '@tegami/store';
import { UsageError } from './command.js';
import { parseSize } from './sizes.js';

// `tegami user import`: users moved in from another server with the password hashes it kept,
// from a CSV file or a Dovecot passwd-file. The whole file is read and checked first, so a
// typo on line 900 does not leave 899 users made and the rest not; then each user is made in
// a transaction of its own, and a run again skips (or with --update refreshes) those made.

export type UserFileFormat = 'csv' | 'passwd-file';

export interface UserLine {
  readonly line: number;
  readonly address: string;
  readonly passwordHash: string;
  /** The scheme, for the report (never the hash itself). */
  readonly scheme: string;
  readonly quotaBytes?: number | null;
  readonly disabled?: boolean;
}

export interface UserFile {
  readonly format: UserFileFormat;
  readonly users: readonly UserLine[];
  /** `line N: problem`, one per line that cannot be imported as written. */
  readonly problems: readonly string[];
}

const CSV_COLUMNS = ['address', 'password_hash', 'quota', 'disabled'] as const;

/**
 * Reads the file: CSV when its first line that is neither blank nor a `#` comment is the
 * header (it starts with `address,`), otherwise Dovecot passwd-file lines
 * (`user@domain:{SCHEME}hash:uid:gid:gecos:home:shell:extra fields`). `domain` completes
 * passwd-file user names without one, as Dovecot's per-domain files (`users/%d`) hold them.
 */
export function readUserFile(text: string, options: { readonly domain?: string } = {}): UserFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const content = lines.findIndex((line) => line.trim() !== '' && !line.startsWith('#'));
  const isCsv = content >= 0 && /^\s*"?address"?\s*,/i.test(lines[content]!);
  const users: UserLine[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let header: string[] | undefined;
  lines.forEach((raw, index) => {
    const number = index + 1;
    if (raw.trim() === '' || raw.startsWith('#')) return;
    try {
      let user: Omit<UserLine, 'line' | 'scheme'> | undefined;
      if (!isCsv) user = passwdFileLine(raw, options.domain);
      else if (!header) header = csvHeader(raw);
      else user = csvLine(raw, header);
      if (!user) return;
      const parsed = parseLegacyPasswordHash(user.passwordHash);
      if (!parsed.ok) throw new LineProblem(`password hash: ${parsed.problem}`);
      const key = user.address.toLowerCase();
      const earlier = seen.get(key);
      if (earlier !== undefined) throw new LineProblem(`${key} is on line ${earlier} already`);
      seen.set(key, number);
      users.push({ ...user, line: number, scheme: parsed.hash.scheme });
    } catch (err) {
      if (!(err instanceof LineProblem || err instanceof UsageError)) throw err;
      problems.push(`line ${number}: ${err.message}`);
    }
  });
  if (content < 0) problems.push('the file holds no users');
  return { format: isCsv ? 'csv' : 'passwd-file', users, problems };
}

class LineProblem extends Error {}

function csvHeader(raw: string): string[] {
  const names = csvFields(raw).map((name) => name.trim().toLowerCase());
  for (const name of names)
    if (!(CSV_COLUMNS as readonly string[]).includes(name))
      throw new LineProblem(`unknown column "${name}" (the columns are ${CSV_COLUMNS.join(', ')})`);
  for (const name of ['address', 'password_hash'])
    if (!names.includes(name)) throw new LineProblem(`the header has no column ${name}`);
  if (new Set(names).size !== names.length) throw new LineProblem('the header names a column twice');
  return names;
}

function csvLine(raw: string, header: readonly string[]): Omit<UserLine, 'line' | 'scheme'> {
  const fields = csvFields(raw);
  if (fields.length !== header.length)
    throw new LineProblem(`${fields.length} fields, and the header names ${header.length}`);
  const value = (name: string) => {
    const at = header.indexOf(name);
    return at < 0 ? undefined : fields[at]!;
  };
  const quota = value('quota')?.trim();
  const disabled = value('disabled')?.trim().toLowerCase();
  return {
    address: value('address')!.trim(),
    // Not trimmed: a {PLAIN} password may end in a space.
    passwordHash: value('password_hash')!,
    ...(quota === undefined
      ? {}
      : { quotaBytes: quota === '' || quota === 'none' ? null : parseSize(quota) }),
    ...(disabled === undefined || disabled === '' ? {} : { disabled: flag(disabled) }),
  };
}

function flag(text: string): boolean {
  if (['true', 'yes', '1', 'y'].includes(text)) return true;
  if (['false', 'no', '0', 'n'].includes(text)) return false;
  throw new LineProblem(`disabled is "${text}": true or false (yes/no, 1/0)`);
}

/** RFC 4180 fields of one line: quoted ones may hold commas and doubled quotes. */
function csvFields(raw: string): string[] {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (raw[at] === '"') {
      let value = '';
      at++;
      for (;;) {
        const quote = raw.indexOf('"', at);
        if (quote < 0) throw new LineProblem('a quoted field does not end on its line');
        value += raw.slice(at, quote);
        at = quote + 1;
        if (raw[at] !== '"') break;
        value += '"';
        at++;
      }
      fields.push(value);
      if (at === raw.length) return fields;
      if (raw[at] !== ',') throw new LineProblem('text after a quoted field');
      at++;
    } else {
      const comma = raw.indexOf(',', at);
      fields.push(raw.slice(at, comma < 0 ? undefined : comma));
      if (comma < 0) return fields;
      at = comma + 1;
    }
  }
}

/**
 * One passwd-file line. Of the extra fields (the eighth on, space-separated), the quota
 * limit (`userdb_quota_rule=*:storage=1G`) is read; `nologin`/`nopassword` users are refused
 * rather than made with a password that would work here.
 */
function passwdFileLine(raw: string, domain: string | undefined): Omit<UserLine, 'line' | 'scheme'> {
  const fields = raw.split(':');
  // The hash itself holds no colon in any scheme read here, so fields[1] is all of it.
  const [user = '', passwordHash = ''] = fields;
  if (fields.length < 2 || passwordHash === '')
    throw new LineProblem(
      'not a passwd-file line (user@domain:{SCHEME}hash:…) nor a CSV file with its header',
    );
  let address = user.trim();
  if (!address.includes('@')) {
    if (!domain)
      throw new LineProblem(`user ${address} has no @domain (give --domain for a per-domain file)`);
    address = `${address}@${domain}`;
  }
  let quotaBytes: number | undefined;
  for (const extra of fields.slice(7).join(':').split(/\s+/).filter(Boolean)) {
    const [key = '', value = ''] = extra.split(/=(.*)/s);
    const name = key.replace(/^userdb_/, '');
    if (name === 'nologin' || name === 'nopassword' || key === 'nologin')
      throw new LineProblem(`${address} has ${key}: not imported`);
    const storage = /^\*:(?:storage|bytes)=(.+)$/.exec(value);
    if (name === 'quota_rule' && storage) quotaBytes = parseSize(storage[1]!);
  }
  return { address, passwordHash, ...(quotaBytes === undefined ? {} : { quotaBytes }) };
}

export interface UserImportSummary {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly skipped: number;
  readonly failed: number;
}

/** Imports the users one transaction each; a line per user, whatever became of it. */
export async function importUsers(
  store: StorePool,
  users: readonly UserLine[],
  options: ImportUserOptions,
  report: { print(line: string): void; warn(line: string): void },
): Promise<UserImportSummary> {
  const { importUser, StoreError } = await import('@tegami/store');
  const counts = { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 };
  for (const user of users) {
    let outcome: ImportUserOutcome;
    try {
      outcome = await importUser(store.pool, user, options);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      counts.failed++;
      report.warn(`line ${user.line}: ${user.address.toLowerCase()}: ${err.message}`);
      continue;
    }
    report.print(`line ${user.line}: ${describeOutcome(outcome, user.scheme)}`);
    counts[outcome.kind === 'exists' ? 'skipped' : outcome.kind]++;
  }
  return counts;
}

function describeOutcome(outcome: ImportUserOutcome, scheme: string): string {
  switch (outcome.kind) {
    case 'created':
      return `created ${outcome.address} ({${scheme}})${outcome.domainCreated ? `, and the domain ${outcome.address.split('@')[1]}` : ''}${outcome.postmaster ? `, postmaster of its domain` : ''}`;
    case 'updated':
      return `updated ${outcome.address}${outcome.passwordReplaced ? ` (password hash {${scheme}})` : ''}${outcome.passwordKept ? ' (keeps the password set in Tegami)' : ''}`;
    case 'unchanged':
      return `${outcome.address} unchanged${outcome.passwordKept ? ' (keeps the password set in Tegami)' : ''}`;
    case 'exists':
      return `${outcome.address} exists already, skipped (--update refreshes it)`;
  }
}

export function summaryLine(summary: UserImportSummary, dryRun: boolean): string {
  const total = summary.created + summary.updated + summary.unchanged + summary.skipped + summary.failed;
  return `${dryRun ? 'dry run, nothing written: ' : ''}${total} user${total === 1 ? '' : 's'}: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.skipped} skipped, ${summary.failed} failed`;
}
