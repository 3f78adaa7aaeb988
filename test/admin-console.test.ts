import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleSite,
  launchBrowser,
  startConsoleSite,
  submitMessage,
  UNREACHABLE_DOMAIN,
} from './support/console-site.js';

// The web console in a real browser (Debian's chromium, driven by playwright-core) against
// `pnpm start`: an operator signs in with a token, makes a domain and a user, watches a
// message that user sends arrive in the trace, and retries a deferred one from the queue.

let site: ConsoleSite;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [site, browser] = await Promise.all([startConsoleSite(), launchBrowser()]);
  page = await browser.newPage();
  // Under the test's own timeout, so that a wait that fails names its locator.
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Removing and dropping ask first (window.confirm): the operator says yes.
  page.on('dialog', (dialog) => void dialog.accept());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

const user = { user: 'alice@console.test', password: 'a long console password' };

/** Follows a link of the console's navigation. */
const openPage = (name: string) =>
  page.getByRole('navigation').getByRole('link', { name, exact: true }).click();

/** Waits until the text of the first element matching `selector` satisfies `wanted`. */
async function waitForText(selector: string, wanted: (text: string) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text =
      (await page
        .locator(selector)
        .first()
        .textContent({ timeout: 1_000 })
        .catch(() => null)) ?? '';
    if (wanted(text)) return text;
    await page.waitForTimeout(250);
  }
  throw new Error(
    `${selector} never got the wanted text; last: ${JSON.stringify(text)}\n${site.program.output().slice(-2000)}`,
  );
}

describe('the web console in chromium', () => {
  it('refuses a token the server does not know', async () => {
    await page.goto(site.consoleUrl);
    await page.getByLabel('Admin token').fill(`tgm_${'A'.repeat(43)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/token/i);
    expect(await page.evaluate("sessionStorage.getItem('tegami.adminToken')")).toBeNull();
  });

  it('signs in with a token and shows the dashboard', async () => {
    await page.getByLabel('Admin token').fill(site.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('oldest queued').waitFor();
    expect(await page.locator('nav .who').textContent()).toContain('console-test');
    // Kept for the tab: a reload stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  it('adds a domain and a user with a quota', async () => {
    await openPage('Domains');
    await page.getByLabel('Domain name').fill('console.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('status').filter({ hasText: 'Added console.test.' }).waitFor();
    await page.getByRole('cell', { name: 'console.test' }).waitFor();
    // The same name again: the API's 409, said in words, nothing changes.
    await page.getByLabel('Domain name').fill('console.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('(exists)');

    await openPage('Users');
    await page.getByLabel('Address').fill(user.user);
    await page.getByLabel('Password').fill(user.password);
    await page.getByLabel('Quota').fill('10M');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Added ${user.user}.` })
      .waitFor();
    const row = page.getByRole('row').filter({ hasText: user.user });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/active.*0 B \/ 10 MB/);
  });

  it('shows the message the new user sends arrive in the trace', async () => {
    const queueId = await submitMessage(site, user, user.user, ['Subject: hello from the console test']);
    await openPage('Queue');
    await page.getByPlaceholder('queue id or Message-ID').fill(queueId);
    await page.getByRole('button', { name: 'Trace', exact: true }).click();
    await page.getByRole('heading', { name: `Trace ${queueId}` }).waitFor();
    // The trace page refreshes itself until the delivery shows.
    const recipient = await waitForText('tr.trace-recipient', (text) => /delivered/.test(text));
    expect(recipient).toContain(user.user);
    expect(await page.locator('article.trace').textContent()).toContain(user.user);

    // The user's row counts the message now.
    await openPage('Users');
    const messages = await waitForText(`tr:has-text("${user.user}") td.num`, (text) => text === '1');
    expect(messages).toBe('1');
  }, 90_000);

  it('retries a deferred message from the queue, and its attempts go up', async () => {
    const queueId = await submitMessage(site, user, `someone@${UNREACHABLE_DOMAIN}`);
    await openPage('Queue');
    const row = `tr[data-queue-id="${queueId}"]`;
    // Refused by the MX: deferred after one attempt, the next one an hour away.
    await waitForText(row, (text) => text.includes('deferred'));
    expect(await waitForText(`${row} td.attempts`, (text) => text === '1')).toBe('1');
    expect(await page.locator(`${row} td.reply`).textContent()).toMatch(/connection refused/i);

    await page.locator(row).getByRole('button', { name: 'Retry' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `${queueId} will be tried again now.` })
      .waitFor();
    expect(await waitForText(`${row} td.attempts`, (text) => Number(text) >= 2)).toMatch(/^[2-9]$/);

    // Its trace lists each refused attempt.
    await page.locator(row).getByRole('link', { name: queueId }).click();
    const attempts = await waitForText('ol.attempts', (text) => (text.match(/deferred/g) ?? []).length >= 2);
    expect(attempts).toContain(`mx.${UNREACHABLE_DOMAIN}`);

    // Dropping it empties the queue.
    await openPage('Queue');
    await page.locator(row).getByRole('button', { name: 'Drop' }).click();
    await page.getByText('The queue is empty.').waitFor();
  }, 90_000);

  it('adds an alias, makes a DKIM key and shows its DNS record', async () => {
    await openPage('Aliases');
    // A local destination must exist: the API says which one does not, and nothing is added.
    await page.getByLabel('Alias').fill('sales@console.test');
    await page.getByLabel('Destinations').fill(`${user.user}, nobody@console.test`);
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('nobody@console.test');
    await page.getByLabel('Destinations').fill(`${user.user}, partner@${UNREACHABLE_DOMAIN}`);
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('status').filter({ hasText: 'Added sales@console.test.' }).waitFor();
    const alias = page.getByRole('row').filter({ hasText: 'sales@console.test' });
    expect(await alias.textContent()).toContain(`${user.user}, partner@${UNREACHABLE_DOMAIN}`);

    await openPage('DKIM');
    // The standalone may have made the domain's first key already: rotating makes a new one.
    await page.getByRole('button', { name: /^(Make a key for|Rotate the keys of) console\.test$/ }).click();
    await page.getByRole('status').filter({ hasText: 'New key made for console.test' }).waitFor();
    const key = await waitForText('code.record', (text) => text.startsWith('v=DKIM1;'));
    expect(key).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
    expect(await page.locator('.card').filter({ hasText: 'console.test' }).textContent()).toMatch(
      /\._domainkey\.console\.test TXT/,
    );
  });

  it('stores a Sieve script only once it compiles, and activates it', async () => {
    await openPage('Users');
    await page.getByRole('row').filter({ hasText: user.user }).getByRole('link', { name: 'Sieve' }).click();
    await page.getByText(`${user.user} has no Sieve scripts.`).waitFor();
    await page.getByRole('button', { name: 'New script' }).click();
    await page.getByLabel('Script name').fill('lists');
    await page.getByLabel('Sieve script').fill('require ["fileinto"];\nif true {\n  fileint "Lists";\n}\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/line 3, column 3: .*fileint/);
    await page.getByLabel('Sieve script').fill('require ["fileinto"];\nif true {\n  fileinto "Lists";\n}\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved lists.' }).waitFor();
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('status').filter({ hasText: 'lists is now the active script.' }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'lists' }).textContent()).toContain('active');
  });

  it('lists every change in the audit log', async () => {
    await openPage('Audit');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const table = await waitForText('table', (text) => text.includes('/queue'));
    expect(table).toContain('POST /domains');
    expect(table).toContain('console.test');
    expect(table).toContain('POST /users');
    // The refused duplicate domain is there too, with its status.
    expect(table).toMatch(/409/);
    expect(pageErrors).toEqual([]);
  });

  it('shows a read-only token everything and offers it no change', async () => {
    const reader = await browser.newPage();
    reader.on('pageerror', (error) => pageErrors.push(error.message));
    await reader.goto(site.consoleUrl);
    await reader.getByLabel('Admin token').fill(site.readToken);
    await reader.getByRole('button', { name: 'Sign in' }).click();
    await reader.getByText('read-only').waitFor();
    await reader.getByRole('navigation').getByRole('link', { name: 'Users', exact: true }).click();
    await reader.getByRole('cell', { name: user.user, exact: true }).waitFor();
    expect(await reader.getByRole('button', { name: 'Add user' }).count()).toBe(0);
    expect(await reader.getByRole('button', { name: /^Manage/ }).count()).toBe(0);
    await reader.close();
    expect(pageErrors).toEqual([]);
  });
});
