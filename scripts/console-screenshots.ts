// Screenshots of the web console's main pages for the README (docs/screenshots/*.png), taken
// by Debian's chromium from a fresh `pnpm start` filled with a little data through the admin
// API. Run by hand after a change to the console's look:
//
//   pnpm console:screenshots
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type ConsoleSite,
  launchBrowser,
  startConsoleSite,
  submitMessage,
  UNREACHABLE_DOMAIN,
} from '../test/support/console-site.js';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

async function call(site: ConsoleSite, method: string, path: string, body?: unknown): Promise<void> {
  const url = new URL(`../api/v1${path}`, site.consoleUrl);
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${site.token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

/** Two domains, a few users (one nearly at its quota, one disabled), an alias, some mail. */
async function fill(site: ConsoleSite): Promise<{ delivered: string; deferred: string }> {
  const password = 'screenshot password';
  await call(site, 'POST', '/domains', { name: 'example.com' });
  await call(site, 'POST', '/domains', { name: 'example.org' });
  await call(site, 'POST', '/users', {
    address: 'alice@example.com',
    password,
    quotaBytes: 1024 * 1024 * 1024,
  });
  await call(site, 'POST', '/users', { address: 'bob@example.com', password, quotaBytes: 12 * 1024 });
  await call(site, 'POST', '/users', { address: 'carol@example.com', password });
  await call(site, 'POST', '/users', {
    address: 'dave@example.org',
    password,
    quotaBytes: 500 * 1024 * 1024,
  });
  await call(site, 'PUT', '/users/carol%40example.com/disabled', { disabled: true });
  await call(site, 'POST', '/aliases', { address: 'sales@example.com', destinations: ['alice@example.com'] });
  const alice = { user: 'alice@example.com', password };
  const delivered = await submitMessage(site, alice, 'bob@example.com', ['Subject: Quarterly numbers']);
  for (let i = 0; i < 4; i++)
    await submitMessage(site, alice, 'bob@example.com', [`Subject: Follow-up ${i + 1}`]);
  await submitMessage(site, alice, 'dave@example.org', ['Subject: Hello from example.com']);
  const deferred = await submitMessage(site, alice, `partner@${UNREACHABLE_DOMAIN}`, ['Subject: Contract']);
  await submitMessage(site, alice, `billing@${UNREACHABLE_DOMAIN}`, ['Subject: Invoice 2031']);
  return { delivered, deferred };
}

const site = await startConsoleSite();
const browser = await launchBrowser();
try {
  const { delivered } = await fill(site);
  // Let the deliveries and the first refused attempts happen.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, colorScheme: 'light' });
  await page.goto(site.consoleUrl);
  await page.getByLabel('Admin token').fill(site.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('oldest queued').waitFor();
  await page.screenshot({ path: `${OUT}dashboard.png` });
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('cell', { name: 'dave@example.org', exact: true }).waitFor();
  await page.screenshot({ path: `${OUT}users.png` });
  await page.getByRole('link', { name: 'Queue' }).click();
  await page.getByRole('cell', { name: `partner@${UNREACHABLE_DOMAIN}`, exact: true }).waitFor();
  await page.screenshot({ path: `${OUT}queue.png` });
  await page.goto(`${site.consoleUrl}#/trace/${delivered}`);
  await page.locator('tr.trace-recipient').first().waitFor();
  await page.screenshot({ path: `${OUT}trace.png` });
  process.stdout.write(`screenshots in ${OUT}\n`);
} finally {
  await browser.close();
  await site.stop();
}
