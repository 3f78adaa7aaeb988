import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Program, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInRepo, startInRepo } from './support/processes.js';

// `pnpm start` and `pnpm tegami dkim`: the key the standalone made in its data directory
// seals the DKIM keys the CLI makes, and `dkim check` asks the standalone's own dns-resolver
// (its upstream here is the tests' DNS server) while it runs.

const dataDir = mkdtempSync(join(tmpdir(), 'tegami-dkim-standalone-'));
let dns: TestDnsServer;
let running: Program | undefined;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: {} });
});
afterAll(async () => {
  running?.signal('SIGKILL');
  await dns?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const tegami = (args: string[]) =>
  runInRepo('pnpm', ['--silent', 'tegami', 'dkim', ...args], { TEGAMI_DATA_DIR: dataDir });

describe('tegami dkim against pnpm start', () => {
  it("makes keys with the standalone's secrets key and checks them through its resolver", async () => {
    running = startInRepo('pnpm', ['start'], {
      TEGAMI_DATA_DIR: dataDir,
      TEGAMI_DOMAIN: 's.test',
      TEGAMI_DNS_UPSTREAMS: dns.address,
      TEGAMI_DNS_NEGATIVE_TTL_MAX_MS: '0',
      TEGAMI_OPS_PORT: '0',
      TEGAMI_SMTP_MX_PORT: '0',
      TEGAMI_SMTP_SUBMISSION_PORT: '0',
      TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
      TEGAMI_POP_PORT: '0',
      TEGAMI_POPS_PORT: '0',
      TEGAMI_IMAP_PORT: '0',
      TEGAMI_IMAPS_PORT: '0',
      TEGAMI_MANAGESIEVE_PORT: '0',
    });
    await running.waitFor(/Tegami is running/, 90_000);

    const create = await tegami(['create', 's.test', '--algorithm', 'ed25519', '--selector', 'ed1']);
    expect(create, create.stderr).toMatchObject({ code: 0, stderr: '' });
    const value = /^ {2}value: (.+)$/m.exec(create.stdout)![1]!;
    expect(value).toMatch(/^v=DKIM1; k=ed25519; p=/);
    dns.setRecords({ 'ed1._domainkey.s.test': { txt: [[value]] } });

    const check = await tegami(['check', 's.test']);
    // No note: the standalone's resolver answered, from the tests' DNS server.
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toMatch(/^ed1 +ed25519-sha256 +active +published$/m);
    expect(dns.queryCount('ed1._domainkey.s.test', 'TXT')).toBeGreaterThan(0);

    running.signal('SIGINT');
    await running.exited();
    running = undefined;
    // Without the standalone the CLI asks this machine's resolver, and says so.
    const after = await tegami(['check', 's.test']);
    expect(after.stderr).toMatch(
      /^tegami: the standalone is not running: looked up through this machine's resolver/,
    );
  }, 240_000);
});
