import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

// The files of secrets the services are given (the secrets key, the SRS secrets): read with
// an error the operator can act on, and, for the standalone, made once and never replaced,
// since replacing one would lose what it sealed or signed.

/** The text of a secret file; an unreadable one is `problem(what the operator must know)`. */
export function readSecretFile(file: string, label: string, problem: (message: string) => Error): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${code ?? (err as Error).message})`;
    throw problem(`${label} ${file}: ${why}`);
  }
}

/**
 * Writes `contents` to `file` (0600, its directory 0700) unless the file exists; whether it
 * wrote. A hard link from a temporary file fails if the file appeared meanwhile (another
 * start on the same data directory): the first one written wins and no one overwrites it.
 */
export function createSecretFileOnce(file: string, contents: string): boolean {
  if (statSync(file, { throwIfNoEntry: false })) return false;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, contents, { mode: 0o600 });
  try {
    linkSync(temporary, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(temporary, { force: true });
  }
}
