import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishStandaloneResolver, standaloneResolverTarget } from './standalone-resolver-address.js';

const dir = mkdtempSync(join(tmpdir(), 'tegami-resolver-address-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the standalone's resolver address, for tegami commands", () => {
  it('is found while the standalone that recorded it runs, and gone once it stops', () => {
    expect(standaloneResolverTarget(dir)).toBeUndefined();
    const unpublish = publishStandaloneResolver(dir, '127.0.0.1:40123');
    expect(standaloneResolverTarget(dir)).toBe('127.0.0.1:40123');
    unpublish();
    expect(existsSync(join(dir, 'dns-resolver.json'))).toBe(false);
    expect(standaloneResolverTarget(dir)).toBeUndefined();
  });

  it('is ignored when the process that recorded it is gone, or the file is not one', () => {
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const gonePid = Number(exited.stdout);
    writeFileSync(join(dir, 'dns-resolver.json'), JSON.stringify({ pid: gonePid, target: '127.0.0.1:1' }));
    expect(standaloneResolverTarget(dir)).toBeUndefined();
    writeFileSync(join(dir, 'dns-resolver.json'), 'not json');
    expect(standaloneResolverTarget(dir)).toBeUndefined();
    // Another standalone's record is not removed by this one's stop.
    writeFileSync(
      join(dir, 'dns-resolver.json'),
      JSON.stringify({ pid: process.ppid, target: '127.0.0.1:2' }),
    );
    publishStandaloneResolver(dir, '127.0.0.1:3');
    const unpublish = publishStandaloneResolver(dir, '127.0.0.1:4');
    writeFileSync(
      join(dir, 'dns-resolver.json'),
      JSON.stringify({ pid: process.ppid, target: '127.0.0.1:2' }),
    );
    unpublish();
    expect(standaloneResolverTarget(dir)).toBe('127.0.0.1:2');
  });
});
