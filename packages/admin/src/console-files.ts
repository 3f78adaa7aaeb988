import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web console's static files (built into ../console-dist by console/build.mjs), served
// under /console/. Nothing is read from outside that directory, whatever the path says.

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../console-dist/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export interface ConsoleFile {
  readonly contentType: string;
  readonly data: Buffer;
}

/**
 * The file for a path below /console/ (already URL-decoded), or undefined. A path without an
 * extension is a page of the single-page app: index.html answers it.
 */
export async function consoleFile(dir: string, relative: string): Promise<ConsoleFile | undefined> {
  const wanted = relative === '' || !extname(relative) ? 'index.html' : relative;
  const root = normalize(dir.endsWith(sep) ? dir : dir + sep);
  const file = normalize(join(root, wanted));
  // `..` or an absolute path must not leave the directory.
  if (!file.startsWith(root) || wanted.includes('\0')) return undefined;
  const contentType = CONTENT_TYPES[extname(file)];
  if (!contentType) return undefined;
  try {
    if (!(await stat(file)).isFile()) return undefined;
    return { contentType, data: await readFile(file) };
  } catch {
    return undefined;
  }
}
