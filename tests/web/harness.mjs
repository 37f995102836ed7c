// The browser tests' harness: starts `shopctl serve` on free ports with a data folder of its
// own and a test catalog (the demo catalog plus products with hostile names), launches
// Debian's Chromium through playwright-core, and saves a screenshot of every page it visits.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const reports = process.env.SHOPCTL_WEB_REPORTS || path.join(root, 'reports', 'web');

export const HOSTILE_SCRIPT = '<script>window.__pwned = "script"</script>Hostile Mug';
// A name of 134 characters with no space: it must wrap wherever it is shown.
export const LONG_NAME = `Unbreakable${'Xy'.repeat(58)}Mug`;
export const HOSTILE_IMG = '<img src=x onerror="window.__pwned = \'img\'">Hostile Lamp';

function yamlString(text) {
  return JSON.stringify(text);  // a JSON string is a YAML double-quoted scalar
}

function writeConfig(dir, extraConfig) {
  const demo = fs.readFileSync(path.join(root, 'src/services/catalog/demo_catalog.yaml'), 'utf8');
  const hostile = [
    {id: 'p-901', sku: 'XSS-0901', name: HOSTILE_SCRIPT, description: 'A dangerous <b>name</b>, shown as text.'},
    {id: 'p-902', sku: 'XSS-0902', name: HOSTILE_IMG, description: 'Another dangerous name, shown as text.'},
    {id: 'p-903', sku: 'LONG-0903', name: LONG_NAME, description: 'A name with nowhere to break a line.'},
  ].map((p) => [
    `  - id: ${p.id}`, `    sku: ${p.sku}`, `    name: ${yamlString(p.name)}`,
    `    description: ${yamlString(p.description)}`, '    category: home', '    price_cents: 999',
    '    currency: EUR', '    available: true'].join('\n')).join('\n');
  const catalog = path.join(dir, 'catalog.yaml');
  fs.writeFileSync(catalog, `${demo.trimEnd()}\n${hostile}\n`);
  // Cheap password hashing (many registrations); a catalog client and an order->catalog breaker
  // sized so that a hanging catalog opens the breaker within a few checkouts, and a trial
  // call after the wait can close it.
  const config = path.join(dir, 'shop.yaml');
  fs.writeFileSync(config, [
    'auth: {password_hashing: fast}',
    `catalog: {file: ${yamlString(catalog)}}`,
    'order:',
    '  catalog_client: {timeout: 300ms, retry: {max_attempts: 1}}',
    '  circuit_breakers:',
    '    order->catalog: {sliding_window_size: 4, minimum_number_of_calls: 2, failure_rate_threshold: 50,',
    '                     wait_duration_in_open_state: 30s, permitted_number_of_calls_in_half_open_state: 1,',
    '                     automatic_transition_from_open_to_half_open: true}',
    ...extraConfig,
    ''].join('\n'));
  return config;
}

// Starts `shopctl serve`; resolves to {url, adminToken, stop()} once it printed both.
// `extraConfig`: more top-level lines of shop.yaml (a story that needs, say, a short
// `gateway.upstream_timeout` starts a shop of its own with it).
export async function startShop(shopctl, {extraConfig = []} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopctl-web-'));
  const config = writeConfig(dir, extraConfig);
  const child = spawn(shopctl, ['serve', '--config', config, '--data-dir', path.join(dir, 'data'),
    '--gateway-port', '0', '--log-level', 'error'], {stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const started = Date.now();
  for (;;) {
    const url = /public door\s+(http:\/\/[0-9.:]+)/.exec(output)?.[1];
    const adminToken = /admin token\s+(\S+)/.exec(output)?.[1];
    if (url && adminToken) {
      return {
        url, adminToken, dir,
        async stop() {
          child.kill('SIGTERM');
          await new Promise((resolve) => { if (child.exitCode !== null) resolve(); else child.once('exit', resolve); });
          fs.rmSync(dir, {recursive: true, force: true});
        },
      };
    }
    if (child.exitCode !== null || Date.now() - started > 20000) {
      child.kill('SIGKILL');
      throw new Error(`shopctl serve did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Debian's Chromium, headless. playwright-core gives every launch a fresh temporary profile
// (user-data-dir) of its own and removes it on close.
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {browser, close: () => browser.close()};
}

// A page that fails the test on any script error or Content-Security-Policy violation.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({viewport: {width: 1280, height: 900}, ...options});
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) {
      page.problems.push(`CSP: ${text}`);
    }
    // Chromium's own requests (the favicon) show only here, not as a page response.
    const where = message.location()?.url || '';
    if (message.type() === 'error' && /status of 404/.test(text) && /\/favicon\.ico$/.test(where)) {
      page.problems.push(`missing file: ${where}`);
    }
  });
  // A page's own file that is missing (a favicon, a stylesheet): the API's 4xx answers are
  // expected in many stories and are not counted.
  page.on('response', (response) => {
    const url = new URL(response.url());
    // A pay link to no intent is the pay page's 404 too (/pay/pi_nope, /pay, /pay/x/y).
    const payLink = /^\/pay(\/|$)/.test(url.pathname) && !url.pathname.startsWith('/pay/static/');
    if (response.status() === 404 && !url.pathname.startsWith('/api/') && !payLink) {
      page.problems.push(`missing file: ${url.pathname}`);
    }
  });
  return page;
}

let shot = 0;
export async function screenshot(page, name, {fullPage = true} = {}) {
  fs.mkdirSync(reports, {recursive: true});
  shot += 1;
  const file = path.join(reports, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage});
  return file;
}

// The shop's admin plane, from the test (not the browser).
export async function admin(shop, method, route, body) {
  const response = await fetch(`${shop.url}${route}`, {
    method,
    headers: {'X-Admin-Token': shop.adminToken, ...(body ? {'Content-Type': 'application/json'} : {})},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

// Changes a product's price at the catalog's own admin plane (as scenarios do).
export async function setPrice(shop, productId, cents) {
  const services = await admin(shop, 'GET', '/_admin/services');
  const catalog = services.items.find((s) => s.name === 'catalog');
  const response = await fetch(`${catalog.url}/_admin/products/${productId}`, {
    method: 'POST',
    headers: {'X-Admin-Token': shop.adminToken, 'Content-Type': 'application/json'},
    body: JSON.stringify({price_cents: cents}),
  });
  if (!response.ok) throw new Error(`set price: ${response.status} ${await response.text()}`);
}

let userCount = 0;
// Registers a new shopper through the register page (reached from the login redirect).
export async function registerShopper(page, shop, next = '') {
  userCount += 1;
  const email = `web-${Date.now()}-${userCount}@shop.test`;
  await page.goto(`${shop.url}/${next ? `#${next}` : ''}`);
  await page.waitForURL(/#\/login/);
  await page.getByRole('link', {name: /create an account/i}).click();
  await page.waitForURL(/#\/register/);
  await page.getByLabel('Name').fill('Web Shopper');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill('correct-horse-battery');
  await page.getByRole('button', {name: 'Create account'}).click();
  await page.waitForFunction(() => !location.hash.startsWith('#/register') && !location.hash.startsWith('#/login'));
  if (!next) await page.getByRole('heading', {name: 'All products'}).waitFor();
  return {email, password: 'correct-horse-battery'};
}

// Pays on the provider's hosted page with `card`; resolves once the shop's order page is back.
export async function payWith(page, card) {
  await page.waitForURL(/\/pay\//);
  await page.locator('#pay-form').waitFor({state: 'visible'});
  await page.getByLabel('Card number').fill(card);
  return page;
}
