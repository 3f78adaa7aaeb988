import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// `pnpm fuzz --coverage DIR` end to end, two targets for a second each: the children's V8
// coverage is mapped back onto the .ts sources (through tsx's source maps), and only the
// modules the inputs ran are listed, not every module a target imports.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tegami-fuzz-coverage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm fuzz --coverage', () => {
  it('prints lines and branches per exercised parser module, counted on the TypeScript source', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--conditions=tegami-source',
        '--import',
        'tsx',
        'test/fuzz/run.ts',
        ...[
          '--target',
          'sequence-set',
          '--target',
          'dns-message',
          '--seconds',
          '1',
          '--seed',
          '1',
          '--no-save',
          '--coverage',
          dir,
        ],
      ],
      { cwd: ROOT },
    );
    const row = stdout
      .split('\n')
      .find((line) => line.startsWith('packages/protocol/src/imap/sequence-set.ts'));
    const [, covered, total] = /(\d+)\/(\d+) [\d.]+%/.exec(row ?? '') ?? [];
    // The total is the .ts file's line count: the counts were mapped onto the source.
    const sourceLines = readFileSync(join(ROOT, 'packages/protocol/src/imap/sequence-set.ts'), 'utf8')
      .trimEnd()
      .split('\n').length;
    expect(Number(total)).toBe(sourceLines);
    expect(Number(covered)).toBeGreaterThan(sourceLines / 2);
    expect(stdout).toMatch(/^services\/dns-resolver\/src\/record-lookup\.ts /m);
    // dns-message imports @tegami/rpc, whose index loads the rspamd client: loaded, so in
    // c8's summary, but no input calls it, so not in the table.
    expect(readFileSync(join(dir, 'coverage-summary.json'), 'utf8')).toContain(
      'packages/rpc/src/rspamd-client.ts',
    );
    expect(stdout).not.toContain('packages/rpc/src/rspamd-client.ts');
    expect(stdout).toMatch(/^all \d+ exercised modules/m);
  }, 120_000);
});
