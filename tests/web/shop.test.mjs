// The web shop, the provider's pay page and the operator console, in a real browser (Debian's
// Chromium through playwright-core). Run by tests/web/run.sh; each test is a user story.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import {
  HOSTILE_IMG, HOSTILE_SCRIPT, admin, launchBrowser, newPage, payWith, registerShopper, screenshot,
  setPrice, startShop,
} from './harness.mjs';

const shopctl = process.env.SHOPCTL;
let shop;
let chromium;

before(async () => {
  assert.ok(shopctl, 'SHOPCTL must name the shopctl binary');
  shop = await startShop(shopctl);
  chromium = await launchBrowser();
});

after(async () => {
  await chromium?.close();
  await shop?.stop();
});

function noProblems(page) {
  assert.deepEqual(page.problems, [], 'no script error and no CSP violation');
}

function cartAnswer(page) {
  return page.waitForResponse((r) => r.url().endsWith('/api/cart/items') && r.request().method() === 'POST');
}

async function addFromDetail(page, productId, quantity = 1, at = shop) {
  await page.goto(`${at.url}/#/products/${productId}`);
  await page.locator(`[data-test="product-detail"][data-product-id="${productId}"]`).waitFor();
  await page.getByLabel('Quantity').fill(String(quantity));
  const answer = cartAnswer(page);
  await page.getByRole('button', {name: 'Add to cart'}).click();
  assert.equal((await answer).status(), 200);
}

async function cartTotal(page) {
  return (await page.locator('[data-test="cart-total"]').textContent()).trim();
}

async function openConsole(page, hash = '') {
  await page.goto(`${shop.url}/console${hash}`);
  await page.getByLabel('Admin token').fill(shop.adminToken);
  await page.getByRole('button', {name: 'Open the console'}).click();
  await page.locator('#service-table tbody tr').first().waitFor();
}

async function waitForBreaker(page, name, state) {
  await page.locator(`[data-breaker="${name}"] [data-test="breaker-state"]`, {hasText: state}).waitFor({timeout: 10000});
}

// The pay page shows the result and waits for the shopper: its "Back to the shop" link has the
// focus, and takes them to the order's page (it went there by itself 800 ms after the result).
async function backToShop(page) {
  const back = page.locator('#message').getByRole('link', {name: 'Back to the shop'});
  await back.waitFor({timeout: 15000});
  await back.click();
}

async function waitForOrderStatus(page, status) {
  await page.locator('[data-test="order-status"]').first().filter({hasText: status}).waitFor({timeout: 15000});
}

test('the seed flow: login, browse, search, page, detail, cart, checkout, pay 4242, PAID, history', async () => {
  const page = await newPage(chromium.browser);
  // 1. Without a token the app sends the user to the login page, which links to register.
  await page.goto(`${shop.url}/`);
  await page.waitForURL(/#\/login/);
  await page.getByRole('heading', {name: 'Log in'}).waitFor();
  await screenshot(page, 'login');
  await page.getByRole('link', {name: /create an account/i}).click();
  await page.getByRole('heading', {name: 'Create an account'}).waitFor();
  await page.getByLabel('Name').fill('Ada');
  await page.getByLabel('Email').fill(`ada-${Date.now()}@shop.test`);
  await page.getByLabel(/^Password/).fill('correct-horse-battery');
  await screenshot(page, 'register');
  await page.getByRole('button', {name: 'Create account'}).click();
  // 2-3. Browse, page through results, by category, search.
  await page.getByRole('heading', {name: 'All products'}).waitFor();
  assert.match(await page.locator('[data-test="page"]').textContent(), /^Page 1 of \d+$/);
  await screenshot(page, 'shop');
  await page.getByRole('link', {name: 'Next →'}).click();
  await page.locator('[data-test="page"]', {hasText: /^Page 2 of/}).waitFor();
  await page.getByRole('navigation', {name: 'Categories'}).getByRole('link', {name: /Coffee & Tea/}).click();
  await page.getByRole('heading', {name: 'Coffee & Tea'}).waitFor();
  assert.equal(await page.locator('[data-test="product"]').count(), 8);
  await screenshot(page, 'category');
  await page.getByRole('searchbox', {name: 'Search products'}).fill('espresso');
  await page.getByRole('button', {name: 'Search'}).click();
  await page.getByRole('heading', {name: /“espresso”/}).waitFor();
  await screenshot(page, 'search');
  // 4. A product's detail.
  await page.getByRole('link', {name: 'Colombia Huila Espresso Roast 1 kg'}).click();
  await page.getByRole('heading', {name: 'Colombia Huila Espresso Roast 1 kg'}).waitFor();
  await screenshot(page, 'product');
  // 5. The cart: add, change the quantity, remove, with totals.
  await page.getByLabel('Quantity').fill('2');
  const added = cartAnswer(page);
  await page.getByRole('button', {name: 'Add to cart'}).click();
  assert.equal((await added).status(), 200);
  await page.locator('#flash').getByText('Added to your cart').waitFor();
  await addFromDetail(page, 'p-001');
  await page.getByRole('link', {name: /^Cart/}).click();
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  assert.equal(await cartTotal(page), '€81.90');  // 2 × 34.50 + 12.90
  await page.getByLabel('Quantity of Ethiopia Yirgacheffe Whole Bean Coffee 250 g').fill('3');
  await page.getByLabel('Quantity of Ethiopia Yirgacheffe Whole Bean Coffee 250 g').press('Tab');
  await page.locator('[data-test="cart-total"]', {hasText: '€107.70'}).waitFor();
  await screenshot(page, 'cart');
  await page.getByRole('button', {name: 'Remove Ethiopia Yirgacheffe Whole Bean Coffee 250 g'}).click();
  await page.locator('[data-test="cart-total"]', {hasText: '€69.00'}).waitFor();
  assert.equal(await page.locator('[data-test="cart-line"]').count(), 1);
  // 6-7. Checkout takes the shopper to the provider's hosted pay page.
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4242424242424242');
  assert.equal((await page.locator('#amount').textContent()).trim(), '€69.00');
  await screenshot(page, 'pay-page');
  // 8. The order's page, open in a second tab while the payment is pending, moves to PAID by
  // itself once the shopper has paid in the first; the first comes back to it too.
  const orderUrl = new URL(page.url()).searchParams.get('return_url');
  assert.match(orderUrl, /^http:\/\/127\.0\.0\.1:\d+\/#\/orders\/[^/]+$/);
  const watcher = await page.context().newPage();
  await watcher.goto(orderUrl);
  await watcher.locator('[data-test="order-status"]', {hasText: 'PAYMENT_PENDING'}).first().waitFor();
  await screenshot(watcher, 'order-pending');
  await page.getByRole('button', {name: 'Pay'}).click();
  await waitForOrderStatus(watcher, 'PAID');
  await watcher.close();
  await backToShop(page);
  await page.waitForURL(/#\/orders\/[^/]+$/, {timeout: 15000});
  await waitForOrderStatus(page, 'PAID');
  await page.getByText('your order is paid').waitFor();
  await screenshot(page, 'order-paid');
  await page.getByRole('link', {name: 'Orders', exact: true}).click();
  await page.locator('[data-test="order-row"]').first().waitFor();
  assert.equal(await page.locator('[data-test="order-row"]').count(), 1);
  assert.equal((await page.locator('[data-test="order-row"] [data-test="order-status"]').textContent()), 'PAID');
  await screenshot(page, 'order-history');
  assert.equal(await page.locator('#cart-count').textContent(), '0');
  noProblems(page);
  await page.context().close();
});

test('a declined card ends the order FAILED and puts the items back in the cart', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-020', 2);
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '');
  // The test cards on the page fill the form.
  await page.getByRole('button', {name: '4000 0000 0000 0002'}).click();
  assert.equal(await page.getByLabel('Card number').inputValue(), '4000000000000002');
  await page.getByRole('button', {name: 'Pay'}).click();
  await backToShop(page);
  await page.waitForURL(/#\/orders\//, {timeout: 15000});
  await waitForOrderStatus(page, 'FAILED');
  await page.getByText(/payment failed \(card_declined\)/i).waitFor();
  await screenshot(page, 'order-failed');
  await page.getByRole('link', {name: /go to the cart/i}).click();
  await page.locator('[data-test="cart-line"]').first().waitFor();
  assert.equal(await cartTotal(page), '€21.98');
  noProblems(page);
  await page.context().close();
});

test('a changed price shows the old and new prices, and the shopper confirms them', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-003', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await setPrice(shop, 'p-003', 1350);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const dialog = page.getByRole('dialog', {name: 'Prices have changed'});
    await dialog.waitFor();
    const change = dialog.locator('[data-test="price-change"]');
    assert.equal(await change.count(), 1);
    assert.match(await change.textContent(), /Japanese Sencha Green Tea 100 g.*€11\.50.*€13\.50/);
    assert.equal(await dialog.locator('[data-test="new-total"]').textContent(), '€13.50');
    await screenshot(page, 'price-changed');
    await dialog.getByRole('button', {name: 'Accept the new prices and pay'}).click();
    await payWith(page, '4242424242424242');
    assert.equal((await page.locator('#amount').textContent()).trim(), '€13.50');
    await page.getByRole('button', {name: 'Pay'}).click();
    await backToShop(page);
    await page.waitForURL(/#\/orders\//, {timeout: 15000});
    await waitForOrderStatus(page, 'PAID');
  } finally {
    await setPrice(shop, 'p-003', 1150);
  }
  noProblems(page);
  await page.context().close();
});

// At 320 px one long product name pushed every row's prices out of the price-change dialog,
// reachable only by scrolling it sideways (an outside probe). And a search whose link holds a
// right-to-left override drew the shop's own closing quote and title reversed.
test('the price-change dialog fits a phone with a long name, and a search shows no reordering characters', async () => {
  const page = await newPage(chromium.browser, {viewport: {width: 320, height: 568}});
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-903', 1);
  await addFromDetail(page, 'p-003', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  await setPrice(shop, 'p-903', 1099);
  await setPrice(shop, 'p-003', 1350);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const dialog = page.getByRole('dialog', {name: 'Prices have changed'});
    await dialog.waitFor();
    const fits = await dialog.evaluate((d) => ({scroll: d.scrollWidth, client: d.clientWidth,
      table: d.querySelector('table').getBoundingClientRect().right, right: d.getBoundingClientRect().right}));
    assert.ok(fits.scroll <= fits.client + 1 && fits.table <= fits.right + 1, JSON.stringify(fits));
    await screenshot(page, 'price-dialog-320');
    await dialog.getByRole('button', {name: 'Back to the cart'}).click();
  } finally {
    await setPrice(shop, 'p-903', 999);
    await setPrice(shop, 'p-003', 1150);
  }
  await page.goto(`${shop.url}/#/?q=%E2%80%AEevil%20gnihsihp`);
  const heading = page.locator('#list-title');
  await heading.getByText('evil', {exact: false}).waitFor();
  assert.doesNotMatch(await heading.textContent(), /[\u202A-\u202E\u2066-\u2069]/);
  assert.doesNotMatch(await page.title(), /[\u202A-\u202E\u2066-\u2069]/);
  noProblems(page);
  await page.context().close();
});

test('a catalog hang added from the console: the shopper gets a friendly error, the breaker opens, then closes', async () => {
  const shopper = await newPage(chromium.browser);
  await registerShopper(shopper, shop);
  await addFromDetail(shopper, 'p-004', 1);
  await shopper.goto(`${shop.url}/#/cart`);
  await shopper.locator('[data-test="cart-line"]').first().waitFor();

  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  await waitForBreaker(operator, 'order->catalog', 'CLOSED');
  // An outsider straight at an internal port is refused, and the console draws it red.
  const services = await admin(shop, 'GET', '/_admin/services');
  const catalogUrl = services.items.find((s) => s.name === 'catalog').url;
  assert.equal((await fetch(`${catalogUrl}/products`)).status, 401);
  await operator.locator('#edges tr.illegal[data-edge="client->catalog"]').waitFor();
  assert.equal(await operator.locator('#graph path.edge.illegal[data-edge="client->catalog"]').count(), 1);
  await screenshot(operator, 'console', {fullPage: false});
  // A hang on every call from order to catalog, with the console's form.
  await operator.getByLabel('Target service').selectOption('catalog');
  await operator.getByLabel('From (caller)').selectOption('order');
  await operator.getByLabel('Type').selectOption('hang');
  await operator.getByLabel('Id (optional)').fill('web-catalog-hang');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('[data-fault="web-catalog-hang"]').waitFor();

  // The shopper checks out until the breaker opens: each answer is the friendly 503.
  let traceId = null;
  await shopper.getByRole('button', {name: 'Check out and pay'}).click();
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const error = shopper.locator('[data-test="error"]');
    await error.waitFor({timeout: 10000});
    await error.getByText('Sorry, the shop is having trouble right now').waitFor();
    // catalog_unavailable: the order service created nothing, and the page may say so.
    await error.getByText('Nothing was charged and your cart is unchanged').waitFor();
    traceId = (await error.locator('[data-test="trace-id"]').textContent()).trim();
    const state = await operator.locator('[data-breaker="order->catalog"] [data-test="breaker-state"]').textContent();
    if (state === 'OPEN') break;
    await operator.waitForTimeout(1200);  // one console poll
    if ((await operator.locator('[data-breaker="order->catalog"] [data-test="breaker-state"]').textContent()) === 'OPEN') break;
    await error.getByRole('button', {name: 'Try again'}).click();
    await shopper.waitForTimeout(100);
  }
  assert.match(traceId, /^[0-9a-f]{32}$/);
  await waitForBreaker(operator, 'order->catalog', 'OPEN');
  await screenshot(shopper, 'checkout-unavailable');
  await operator.locator('#transitions').getByText('CLOSED → OPEN').waitFor();
  // Each time says its clock: the shop's here, which an admin advance moves, and the browser's
  // in a "Not current" note (they sat side by side unlabelled; an outside probe).
  assert.match(await operator.locator('#transitions [data-test="transition-at"]').first().textContent(),
    /\(shop clock\)$/);
  assert.match(await operator.locator('#call-table thead').textContent(), /Time \(shop clock\)/);
  await operator.evaluate(() => window.scrollTo(0, 0));
  await screenshot(operator, 'console-breaker-open', {fullPage: false});
  await screenshot(operator, 'console-full');

  // The trace id in the shopper's message opens the console on that request's calls.
  const href = await shopper.locator('[data-test="trace-id"]').getAttribute('href');
  assert.equal(href, `/console#trace=${traceId}`);
  await operator.goto(`${shop.url}${href}`);
  await operator.locator('[data-test="call"]').first().waitFor();
  const rows = await operator.locator('[data-test="call"]').allTextContents();
  assert.ok(rows.length > 0 && rows.every((row) => row.includes(traceId)), 'only the calls of that trace');
  assert.ok(rows.some((row) => row.includes('client->gateway')), 'the shopper\'s request itself');
  await screenshot(operator, 'console-trace');

  // Clearing the fault and moving the clock past the open wait lets a trial call through;
  // the shopper's retry succeeds and closes the breaker.
  // With the keyboard: the focus stays on the button while the console polls and redraws.
  await operator.locator('[data-fault="web-catalog-hang"]').getByRole('button', {name: /Clear/}).focus();
  await operator.waitForTimeout(1500);
  assert.equal(await operator.evaluate(() => document.activeElement.dataset.key), 'clear:web-catalog-hang');
  await operator.keyboard.press('Enter');
  await operator.locator('[data-fault="web-catalog-hang"]').waitFor({state: 'detached'});
  await operator.getByLabel('Advance the shop clock by').fill('31s');
  await operator.getByRole('button', {name: 'Advance'}).click();
  await waitForBreaker(operator, 'order->catalog', 'HALF_OPEN');
  await shopper.locator('[data-test="error"]').getByRole('button', {name: 'Try again'}).click();
  await shopper.waitForURL(/\/pay\//, {timeout: 10000});
  await waitForBreaker(operator, 'order->catalog', 'CLOSED');
  await operator.locator('#transitions').getByText('HALF_OPEN → CLOSED').waitFor();
  noProblems(shopper);
  noProblems(operator);
  await shopper.context().close();
  await operator.context().close();
});

test('products with hostile names show as text, and nothing they hold runs', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await page.goto(`${shop.url}/#/?q=dangerous`);
  await page.getByRole('heading', {name: /“dangerous”/}).waitFor();
  await page.locator('[data-test="product"]').nth(1).waitFor();
  const names = await page.locator('[data-test="product"] h3').allTextContents();
  assert.deepEqual(names.sort(), [HOSTILE_SCRIPT, HOSTILE_IMG].sort());
  await screenshot(page, 'hostile-list');
  await page.getByRole('link', {name: HOSTILE_IMG}).click();
  await page.getByRole('heading', {level: 1}).filter({hasText: 'Hostile Lamp'}).waitFor();
  assert.equal(await page.getByRole('heading', {level: 1}).textContent(), HOSTILE_IMG);
  await addFromDetail(page, 'p-901', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  assert.equal(await page.locator('[data-test="cart-line"] .name').textContent(), HOSTILE_SCRIPT);
  await screenshot(page, 'hostile-cart');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('main img, main script').count(), 0);
  noProblems(page);
  await page.context().close();
});

test('at phone width the shop fits the screen and works with the keyboard', async () => {
  const page = await newPage(chromium.browser, {viewport: {width: 390, height: 844}, isMobile: true, hasTouch: true});
  await registerShopper(page, shop);
  await page.getByRole('heading', {name: 'All products'}).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  await screenshot(page, 'phone-shop');
  // Keyboard only: Enter follows a focused product link; Tab reaches "Add to cart".
  const link = page.locator('[data-test="product"] h3 a').first();
  await link.focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-test="product-detail"]').waitFor();
  await page.getByLabel('Quantity').focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');  // the focused "Add to cart" button
  await page.locator('#flash').getByText('Added to your cart').waitFor();
  await screenshot(page, 'phone-product');
  noProblems(page);
  await page.context().close();
});

// A script that failed to load (a fault on its asset route, a proxy's error page) left the
// page on "Loading the shop..." for good, with nothing to do (an outside probe). A notice that
// only CSS shows, after 6 s, says so; the script removes it as it starts.
test('a page whose script does not load says so after a few seconds; one whose script runs never shows it', async () => {
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-no-script', target: 'gateway', type: 'abort', status: 500,
    match: {method: 'GET', path: '/assets/shop/app.js'}});
  const broken = await newPage(chromium.browser);
  try {
    await broken.goto(`${shop.url}/#/cart`);
    const failed = broken.locator('#boot-failed');
    assert.equal(await failed.isVisible(), false, 'not at once');
    await failed.waitFor({state: 'visible', timeout: 20000});
    assert.match(await failed.textContent(), /could not load its script/);
    assert.equal(await failed.getAttribute('role'), 'alert');
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-no-script').catch(() => {});
    await broken.context().close();
  }
  // The console's assets take no faults (it must work to clear them); it, the shop and the pay
  // page each carry the notice, and their scripts remove it as they start.
  for (const path of ['/console', '/']) {
    assert.match(await (await fetch(`${shop.url}${path}`)).text(), /id="boot-failed"/);
  }
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('heading', {name: /Log in/}).waitFor();
  assert.equal(await page.locator('#boot-failed').count(), 0);
  await page.goto(`${shop.url}/console`);
  await page.getByRole('button', {name: 'Open the console'}).waitFor();
  assert.equal(await page.locator('#boot-failed').count(), 0);
  // A token with a character no admin token has cannot be sent in a header: the console said
  // "the gateway could not be reached" (an outside probe). It says the token is wrong.
  await page.getByLabel('Admin token').fill('adm_\u00e9\u20ac');
  await page.getByRole('button', {name: 'Open the console'}).click();
  await page.locator('#token-error').getByText('That is not the admin token').waitFor({timeout: 5000});
  noProblems(page);
  await page.context().close();
});

test('the pages are embedded assets with a strict CSP, ETags and 404s in the error shape; the API is unchanged', async () => {
  const home = await fetch(`${shop.url}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get('content-type'), /^text\/html/);
  const csp = home.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const etag = home.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${shop.url}/`, {headers: {'If-None-Match': etag}});
  assert.equal(again.status, 304);
  const missing = await fetch(`${shop.url}/assets/shop/nope.js`);
  assert.equal(missing.status, 404);
  const body = await missing.json();
  assert.equal(body.error.code, 'asset_not_found');
  assert.match(body.trace_id, /^[0-9a-f]{32}$/);
  const traversal = await fetch(`${shop.url}/assets/..%2f..%2fetc%2fpasswd`);
  assert.equal(traversal.status, 404);
  const console = await fetch(`${shop.url}/console`);
  assert.equal(console.status, 200);
  // The public API still needs a token, and the console's routes the admin token.
  assert.equal((await fetch(`${shop.url}/api/cart`)).status, 401);
  assert.equal((await fetch(`${shop.url}/_admin/console/breakers`)).status, 401);
  const breakers = await admin(shop, 'GET', '/_admin/console/breakers');
  assert.equal(breakers.services.order.reachable, true);
  // The provider's page refuses a return URL that does not lead back to the shop.
  const services = await admin(shop, 'GET', '/_admin/services');
  const provider = services.items.find((s) => s.name === 'provider');
  const open = await fetch(`${provider.url}/pay/pi_x?return_url=${encodeURIComponent('http://evil.test/')}`,
    {headers: {Accept: 'application/json'}});
  assert.ok(open.status === 400 || open.status === 404);
});

test('an expired session sends the shopper to the login page, and back to where they were', async () => {
  const page = await newPage(chromium.browser);
  const shopper = await registerShopper(page, shop);
  await page.goto(`${shop.url}/#/products/p-005`);
  await page.locator('[data-test="product-detail"]').waitFor();
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '16m'});  // tokens live 15 minutes
  await page.goto(`${shop.url}/#/cart`);
  await page.waitForURL(/#\/login\?next=%2Fcart/);
  await page.getByText('Your session has expired').waitFor();
  await screenshot(page, 'session-expired');
  await page.getByLabel('Email').fill(shopper.email);
  await page.getByLabel('Password').fill(shopper.password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.waitForURL(/#\/cart$/);
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  noProblems(page);
  await page.context().close();
});

// A quantity typed as the session expired: the gateway refused the PATCH (401) and the page went
// to the login page saying only "session expired", so the shopper took the change for made and
// came back to the old quantity without a word. The login page now says the change was not saved.
test('a change refused because the session expired is said to be unsaved', async () => {
  const page = await newPage(chromium.browser);
  const shopper = await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '16m'});  // tokens live 15 minutes
  await page.locator('[data-test="cart-line"] input.qty').fill('4');
  await page.locator('[data-test="cart-line"] input.qty').press('Tab');
  await page.waitForURL(/#\/login\?next=%2Fcart/);
  await page.getByText('Your session has expired').waitFor();
  await page.locator('[data-test="unsaved-change"]').getByText('Your last change was not saved').waitFor();
  await page.getByLabel('Email').fill(shopper.email);
  await page.getByLabel('Password').fill(shopper.password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.waitForURL(/#\/cart$/);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  assert.equal(await page.locator('[data-test="cart-line"] input.qty').inputValue(), '1');
  // A session that expired on a read (a page opened) says nothing of a change.
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '16m'});
  await page.goto(`${shop.url}/#/orders`);
  await page.waitForURL(/#\/login/);
  await page.getByText('Your session has expired').waitFor();
  assert.equal(await page.locator('[data-test="unsaved-change"]').count(), 0);
  // A checkout whose session expired on its read of the cart, before the order: nothing was
  // ordered, and the login page said nothing of it (an outside probe).
  await page.getByLabel('Email').fill(shopper.email);
  await page.getByLabel('Password').fill(shopper.password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.waitForURL(/#\/orders$/);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '16m'});
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await page.waitForURL(/#\/login/);
  await page.locator('[data-test="unsaved-change"]').getByText('Your last change was not saved').waitFor({timeout: 5000});
  noProblems(page);
  await page.context().close();
});

// A mangled or truncated link: decodeURIComponent threw outside the router's try, so the page
// stayed on "Loading the shop..." with a script error; a dot segment went to the list route
// and drew a product of undefined fields ("SKU undefined", "€NaN"). Both are "Page not found".
test('a mangled link or a dot for an id shows "Page not found", not a stuck or made-up page', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  for (const hash of ['#/products/%E0%A4%A', '#/orders/%', '#/products/.', '#/orders/..', '#/products/%2E']) {
    await page.goto(`${shop.url}/${hash}`);
    await page.getByRole('heading', {name: 'Page not found'}).waitFor({timeout: 5000});
    assert.equal(await page.locator('[data-test="product-detail"]').count(), 0, hash);
  }
  noProblems(page);
  await page.context().close();
});

// Any text in a link's category was the page's heading and title, in the shop's own style: a
// phishing aid on the shop's origin (an outside probe). An unknown category is said to be one.
test('a link to a category the shop does not have says so, and shows none of its text', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  const bait = 'SECURITY NOTICE: your account is locked. Call support';
  await page.goto(`${shop.url}/#/?category=${encodeURIComponent(bait)}`);
  await page.getByRole('heading', {name: 'Unknown category'}).waitFor({timeout: 5000});
  await page.locator('[data-test="unknown-category"]').waitFor({timeout: 5000});
  assert.equal((await page.locator('main').innerText()).includes('SECURITY NOTICE'), false);
  assert.equal((await page.title()).includes('SECURITY NOTICE'), false);
  // A category the shop has is still named.
  await page.goto(`${shop.url}/#/?category=books`);
  await page.locator('[data-test="unknown-category"]').waitFor({state: 'detached', timeout: 5000});
  assert.notEqual(await page.locator('#list-title').innerText(), 'Unknown category');
  noProblems(page);
  await page.context().close();
});

// An emptied number field of the fault form was sent as 0: "each with probability p" with the
// field emptied added a fault that could never fire, and the console said it was added.
test('the console refuses a fault whose number fields were emptied, and adds nothing', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  const before = (await admin(shop, 'GET', '/_admin/faults')).items.length;
  await operator.getByLabel('Target service').selectOption('catalog');
  await operator.getByLabel('Type').selectOption('reset');
  await operator.getByLabel('Which requests').selectOption('probability');
  await operator.getByLabel('N or p').fill('');
  await operator.getByLabel('Id (optional)').fill('web-empty-p');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('#fault-error').getByText('N or p is empty').waitFor({timeout: 5000});
  await operator.getByLabel('Which requests').selectOption('');
  await operator.getByLabel('Type').selectOption('delay');
  await operator.getByLabel('Delay (ms)').fill('');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('#fault-error').getByText('Delay (ms) is empty').waitFor({timeout: 5000});
  // The answer is about the form as it was: a field changed since, it goes (a "match.path"
  // error stayed beside a fixed path while the browser refused another field).
  await operator.getByLabel('Delay (ms)').fill('-5');
  assert.equal(await operator.locator('#fault-error').textContent(), '');
  assert.equal((await admin(shop, 'GET', '/_admin/faults')).items.length, before);
  noProblems(operator);
  await operator.context().close();
});

// The console kept the admin token in sessionStorage, which the shop's pages (the same origin)
// could read after the console's own "Shop" link; a fresh console opened at #trace= showed each
// call twice (the trace's records, then the first poll's); at phone width it scrolled sideways.
test('the console keeps the admin token from the shop\'s pages, shows a trace\'s calls once, and fits a phone', async () => {
  const page = await newPage(chromium.browser);
  const probe = await fetch(`${shop.url}/api/catalog/products?page_size=1`);
  const traceId = probe.headers.get('x-trace-id');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  await openConsole(page, `#trace=${traceId}`);
  await page.locator('[data-test="call"]').first().waitFor();
  await page.waitForTimeout(2500);  // two polls after the trace was read
  const keys = await page.locator('[data-test="call"] button.trace-link').evaluateAll(
    (buttons) => buttons.map((b) => b.dataset.key));
  const recorded = (await admin(shop, 'GET', '/_admin/calls?since=0')).records.filter((r) => r.trace_id === traceId);
  assert.ok(recorded.length > 0);
  assert.equal(new Set(keys).size, keys.length, `each call once: ${keys.join(' ')}`);
  assert.equal(keys.length, recorded.length);
  const stored = () => page.evaluate(() => JSON.stringify({...sessionStorage, ...localStorage}));
  assert.ok(!(await stored()).includes(shop.adminToken), 'no copy of the token in browser storage');
  await page.goto(`${shop.url}/`);  // the shop, in the console's tab
  await page.waitForURL(/#\/login/);
  assert.ok(!(await stored()).includes(shop.adminToken), 'the shop\'s scripts cannot find the token');
  noProblems(page);
  await page.context().close();

  const phone = await newPage(chromium.browser, {viewport: {width: 390, height: 844}, isMobile: true, hasTouch: true});
  await openConsole(phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  noProblems(phone);
  await phone.context().close();
});

// Escape closed the price dialog without redrawing the cart, which kept showing the old prices
// (and the next click paid the new ones); a refused (not expired) token sent the shopper to the
// login page without a word; a quantity out of range stayed in the field; a page number past the
// last showed "Page 99 of 6".
test('the shop redraws the cart after Escape, says why a refused session ended, and keeps its fields true', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-003', 2);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  assert.equal(await cartTotal(page), '€23.00');
  await setPrice(shop, 'p-003', 1350);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.getByRole('dialog', {name: 'Prices have changed'}).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', {name: 'Prices have changed'}).waitFor({state: 'hidden'});
    await page.locator('[data-test="cart-total"]', {hasText: '€27.00'}).waitFor({timeout: 5000});
  } finally {
    await setPrice(shop, 'p-003', 1150);
  }
  // A quantity out of range: the field goes back to what the cart holds.
  await page.goto(`${shop.url}/#/`);
  await page.goto(`${shop.url}/#/cart`);
  const field = page.locator('[data-test="cart-line"] input.qty').first();
  await field.waitFor();
  const held = await field.inputValue();
  await field.fill('150');
  await field.press('Tab');  // a change event
  await page.getByRole('alert').getByText('Choose a quantity from 0 to 99').waitFor();
  assert.equal(await field.inputValue(), held);
  // Past the last page: the last page.
  await page.goto(`${shop.url}/#/?page=99`);
  await page.locator('[data-test="page"]').waitFor();
  const pageText = await page.locator('[data-test="page"]').textContent();
  const [, shown, of] = pageText.match(/Page (\d+) of (\d+)/);
  assert.equal(shown, of, pageText);
  assert.ok(await page.locator('[data-test="product"]').count() > 0);
  // A token the shop refuses (not an expired one): the login page says the session ended.
  await page.evaluate(() => localStorage.setItem('shopctl.token', 'eyJhbGciOiJIUzI1NiJ9.e30.bad'));
  await page.goto(`${shop.url}/#/cart`);
  await page.waitForURL(/#\/login\?next=%2Fcart/);
  await page.getByText('You were signed out').waitFor();
  noProblems(page);
  await page.context().close();
});

// The pay page opened without a return_url said "Taking you back to the shop…" and stayed; a
// paid intent's page still offered the test cards ("This payment is already succeeded."), and
// so did an unknown intent's (404) and a refused return_url's (400); the page had no icon, so
// Chromium's /favicon.ico was a 404 on every visit.
test('the pay page says what comes next without a return_url, and a paid intent offers nothing more to pay', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const token = await page.evaluate(() => localStorage.getItem('shopctl.token'));
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Idempotency-Key': `web-pay-${Date.now()}`}});
  assert.equal(created.status, 201);
  const payUrl = (await created.json()).payment.pay_url;
  await page.goto(payUrl);
  await payWith(page, '4242424242424242');
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.getByText('Payment succeeded. You can close this page and return to the shop.').waitFor();
  await page.goto(payUrl);
  await page.getByText('This payment has already succeeded.').waitFor();
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  assert.equal(await page.getByRole('heading', {name: 'Test cards'}).isVisible(), false);
  await page.waitForTimeout(500);  // the browser's own icon request
  noProblems(page);
  // A mistyped or stale pay link shows the page, in its own words (not raw JSON).
  const unknown = payUrl.replace(/\/pay\/[^/?#]+/, '/pay/pi_nope');
  const answer = await page.goto(unknown);
  assert.equal(answer.status(), 404);
  assert.match(answer.headers()['content-type'], /^text\/html/);
  await page.getByRole('alert').getByText('names no payment the provider knows').waitFor();
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  // Nothing to pay: no test cards whose buttons would fill no form.
  assert.equal(await page.getByRole('heading', {name: 'Test cards'}).isVisible(), false);
  assert.equal(await page.locator('.card-choice').first().isVisible(), false);
  const refused = await page.goto(`${payUrl}?return_url=${encodeURIComponent('http://evil.test/')}`);
  assert.equal(refused.status(), 400);
  await page.getByRole('alert').getByText('return_url must name host:port').waitFor();
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  assert.equal(await page.getByRole('heading', {name: 'Test cards'}).isVisible(), false);
  await page.context().close();
});

// The shopper's token, read from the page's storage, for the API calls a test makes itself.
async function shopperToken(page) {
  return page.evaluate(() => localStorage.getItem('shopctl.token'));
}

async function listOrders(at, token) {
  const answer = await fetch(`${at.url}/api/orders`, {headers: {Authorization: `Bearer ${token}`}});
  assert.equal(answer.status, 200);
  return (await answer.json()).items;
}

// A checkout the gateway gave up on (504 upstream_timeout) had still created the order: the
// page said "Nothing was charged and your cart is unchanged", and "Try again" sent a fresh
// Idempotency-Key and got 400 cart_empty, leaving the order PAYMENT_PENDING out of sight. A
// shop of its own with a 2.5 s upstream timeout (longer than every service's client, 2 s, as
// the config requires), and a 3 s delay before order handles checkout.
test('a checkout whose answer timed out says the order may be placed, and Try again picks it up with the same key', async () => {
  const slow = await startShop(shopctl, {extraConfig: ['gateway: {upstream_timeout: 2500ms}']});
  const page = await newPage(chromium.browser);
  try {
    await registerShopper(page, slow);
    await addFromDetail(page, 'p-001', 1, slow);
    await page.goto(`${slow.url}/#/cart`);
    await page.locator('[data-test="cart-line"]').first().waitFor();
    const keys = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders') {
        keys.push(request.headers()['idempotency-key']);
      }
    });
    await admin(slow, 'POST', '/_admin/faults', {id: 'web-slow-checkout', target: 'order', from: 'gateway',
      type: 'delay', delay_ms: 3000, match: {method: 'POST', path: '/orders'}});
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const error = page.locator('[data-test="error"]');
    await error.getByText('upstream_timeout').waitFor({timeout: 10000});
    const said = await error.textContent();
    assert.match(said, /Your order may have been placed/);
    assert.doesNotMatch(said, /Nothing was charged|cart is unchanged/);
    // The key is kept for the tab until a definite answer: a redraw (a reload, Back, a
    // quantity changed) must not send a fresh one while the first order may be placed.
    const pending = JSON.parse(await page.evaluate(() => sessionStorage.getItem('shopctl.pending_checkout')));
    assert.equal(pending && pending.key, keys[0]);
    await admin(slow, 'DELETE', '/_admin/faults');
    // The order service placed the order after the gateway had given up.
    const token = await shopperToken(page);
    for (let i = 0; i < 50 && (await listOrders(slow, token)).length === 0; i += 1) await page.waitForTimeout(100);
    assert.equal((await listOrders(slow, token)).length, 1);
    // The page reads the cart again: the order took its items, and the badge says so.
    await page.locator('[data-test="cart-now-empty"]').waitFor({timeout: 12000});
    assert.equal(await page.locator('#cart-count').textContent(), '0');
    assert.equal(await page.locator('[data-test="cart-line"]').count(), 0);
    await screenshot(page, 'checkout-timed-out');
    await error.getByRole('button', {name: 'Try again'}).click();
    await page.waitForURL(/\/pay\//, {timeout: 10000});
    assert.equal(keys.length, 2);
    assert.equal(keys[1], keys[0], 'Try again sends the first attempt\'s Idempotency-Key');
    assert.equal((await listOrders(slow, token)).length, 1, 'one order, not a second');
    await page.goto(`${slow.url}/#/orders`);  // the shop's own storage, after the pay page
    await page.getByRole('heading', {name: 'Your orders'}).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('shopctl.pending_checkout')), null,
      'the answer was definite: the kept key is dropped');
    noProblems(page);
  } finally {
    await page.context().close();
    await slow.stop();
  }
});

// A 200 whose body was not JSON showed "Cannot read properties of null (reading 'items')
// (undefined)".
test('an answer the page cannot read is said plainly', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-cart-not-json', target: 'gateway', from: 'client',
    type: 'abort', status: 200, body: 'hello', match: {method: 'GET', path: '/api/cart'}});
  try {
    await page.goto(`${shop.url}/#/cart`);
    const error = page.locator('[data-test="error"]');
    await error.getByText('the shop sent an answer this page cannot read').waitFor({timeout: 5000});
    assert.doesNotMatch(await error.textContent(), /Cannot read properties|undefined/);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-cart-not-json');
  }
  noProblems(page);
  await page.context().close();
});

// The order page redrew everything every second, so a keyboard user's focus on "Pay now" fell
// to <body>; and when a poll failed (the order service stopped after the shopper paid) it said
// "Nothing was charged" and stopped polling for good.
test('the pending order page keeps the focus, and keeps polling through an order service that is down', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const token = await shopperToken(page);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Idempotency-Key': `web-focus-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(`${shop.url}/#/orders/${order.order_id}`);
  await waitForOrderStatus(page, 'PAYMENT_PENDING');
  // Beside "Pay now", that a payment already made is on its way and cannot be made twice.
  assert.match(await page.locator('[data-test="paid-already-note"]').textContent(), /cannot be charged twice/);
  await page.getByRole('link', {name: '← All orders'}).focus();
  await page.keyboard.press('Tab');  // the next control: the order's "Pay now"
  const focusedText = () => page.evaluate(() => document.activeElement?.textContent);
  assert.equal(await focusedText(), 'Pay now');
  await page.waitForTimeout(2500);  // two polls
  assert.equal(await focusedText(), 'Pay now', 'the focus stays on "Pay now" across the polls');
  try {
    await admin(shop, 'POST', '/_admin/services/order/stop');
    const paid = await fetch(order.payment.pay_url, {method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({card_number: '4242424242424242'})});
    assert.equal(paid.status, 200);
    const unreachable = page.locator('[data-test="order-unreachable"]');
    await unreachable.getByText('We cannot reach your order right now').waitFor({timeout: 5000});
    assert.doesNotMatch(await page.locator('main').textContent(), /Nothing was charged/);
    await screenshot(page, 'order-unreachable');
  } finally {
    await admin(shop, 'POST', '/_admin/services/order/start');
  }
  // Polling goes on: once the order service is back the page reads the order again, and shows
  // it PAID, without a reload, once payment's outbox delivered the result (its backoff runs on
  // the shop clock: 30 s on makes the callback due now).
  await page.locator('[data-test="order-unreachable"]').waitFor({state: 'detached', timeout: 10000});
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '30s'});
  await waitForOrderStatus(page, 'PAID');
  noProblems(page);
  await page.context().close();
});

// A tab kept the cart it drew for user A after another tab logged out and in as B, and its
// "Check out and pay" then checked out B's cart; after a logout in another tab, the next click
// said "the shop no longer accepts your session".
test('a tab follows a logout and a login in another tab, and never shows the previous user\'s cart', async () => {
  const tabA = await newPage(chromium.browser);
  await registerShopper(tabA, shop);
  await addFromDetail(tabA, 'p-001', 1);
  await tabA.goto(`${shop.url}/#/cart`);
  await tabA.locator('[data-test="cart-line"][data-product-id="p-001"]').waitFor();
  const tabB = await tabA.context().newPage();
  await tabB.goto(`${shop.url}/#/`);
  await tabB.getByRole('heading', {name: 'All products'}).waitFor();
  await tabB.getByRole('button', {name: 'Log out'}).click();
  await tabA.waitForURL(/#\/login\?next=%2Fcart&reason=other_tab$/, {timeout: 5000});
  await tabA.getByText('You signed out in another tab').waitFor();
  const userB = await registerShopper(tabB, shop);
  // Tab A, untouched, goes back to the cart: B's (empty), with B's name in the header.
  await tabA.waitForURL(/#\/cart$/, {timeout: 5000});
  await tabA.getByText('Your cart is empty.').waitFor();
  assert.equal(await tabA.locator('#who').textContent(), userB.email);
  assert.equal(await tabA.locator('[data-test="cart-line"]').count(), 0);
  noProblems(tabA);
  await tabA.context().close();
});

// Every route was titled "shopctl shop"; a search longer than the catalog's 200 characters
// replaced the whole page with invalid_query, and "Try again" sent it again.
test('each page has its own title, and a search that is too long is said beside the list', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  assert.equal(await page.title(), 'All products · shopctl shop');
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  assert.equal(await page.title(), 'Your cart · shopctl shop');
  await page.goto(`${shop.url}/#/products/p-005`);
  const name = (await page.locator('[data-test="product-detail"] h1').textContent()).trim();
  assert.equal(await page.title(), `${name} · shopctl shop`);
  await page.goto(`${shop.url}/#/orders`);
  await page.getByRole('heading', {name: 'Your orders'}).waitFor();
  assert.equal(await page.title(), 'Your orders · shopctl shop');
  await page.goto(`${shop.url}/#/nope`);
  await page.getByRole('heading', {name: 'Page not found'}).waitFor();
  assert.equal(await page.title(), 'Page not found · shopctl shop');
  // The search box stops at 200 characters; a longer search in the address keeps the page.
  await page.goto(`${shop.url}/#/?q=${'x'.repeat(250)}`);
  await page.locator('[data-test="search-too-long"]').getByText('at most 200 characters').waitFor({timeout: 5000});
  assert.equal(await page.getByRole('searchbox', {name: 'Search products'}).getAttribute('maxlength'), '200');
  assert.ok(await page.locator('[data-test="product"]').count() > 0, 'the list is still there');
  assert.equal(await page.locator('[data-test="error"]').count(), 0);
  noProblems(page);
  await page.context().close();
});

// Clearing the console's #trace= by hand left the filter on.
test('the console follows its #trace= when it is cleared or set by hand', async () => {
  const operator = await newPage(chromium.browser);
  const probe = await fetch(`${shop.url}/api/catalog/products?page_size=1`);
  const traceId = probe.headers.get('x-trace-id');
  await openConsole(operator, `#trace=${traceId}`);
  await operator.locator('[data-test="call"]').first().waitFor();
  assert.equal(await operator.locator('#trace').inputValue(), traceId);
  await operator.evaluate(() => { location.hash = ''; });
  await operator.waitForFunction(() => document.getElementById('trace').value === '', null, {timeout: 5000});
  await fetch(`${shop.url}/api/catalog/products?page_size=2`);  // a call of another trace
  await operator.waitForFunction((trace) => [...document.querySelectorAll('[data-test="call"] button.trace-link')]
    .some((b) => b.textContent !== trace), traceId, {timeout: 5000});
  await operator.evaluate((trace) => { location.hash = `trace=${trace}`; }, traceId);
  await operator.waitForFunction((trace) => document.getElementById('trace').value === trace, traceId, {timeout: 5000});
  // The console's own section links are fragments too: following one keeps the filter.
  await operator.getByRole('link', {name: 'Calls', exact: true}).click();
  await operator.waitForTimeout(300);
  assert.equal(await operator.locator('#trace').inputValue(), traceId);
  noProblems(operator);
  await operator.context().close();
});

// A restarted shop numbers its call records from 0 again: the console kept the calls from
// before the restart as the most recent, for good, and never showed a new one (an outside
// probe). Here the shop's answers are made to begin again, as a restart makes them.
test('the console starts its calls table again when the shop\'s records begin again', async () => {
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  for (let i = 0; i < 5; i += 1) await fetch(`${shop.url}/api/catalog/products?page_size=1`);
  await operator.locator('[data-test="call"]').nth(4).waitFor();
  const now = Date.now();
  const record = (seq) => ({seq, at_ms: now, edge: 'client->gateway', caller: 'client', callee: 'gateway', method: 'GET',
    route: `/api/after-restart-${seq}`, status: 200, outcome: 'ok', attempt: 1, duration_ms: 1, trace_id: `restart${seq}`,
    violation: false, refused_by_breaker: false});
  const isCalls = (url) => url.pathname === '/_admin/calls';
  await operator.route(isCalls, (route) => {
    const since = Number(new URL(route.request().url()).searchParams.get('since'));
    const records = [record(0)].filter((r) => r.seq >= since);
    route.fulfill({status: 200, contentType: 'application/json', body: JSON.stringify({next_seq: 1, records})});
  });
  await operator.locator('[data-test="call"]', {hasText: '/api/after-restart-0'}).waitFor({timeout: 10000});
  await operator.waitForFunction(() => document.querySelectorAll('[data-test="call"]').length === 1, null, {timeout: 5000});
  await operator.unroute(isCalls);
  await operator.context().close();
});

// An OPEN breaker's `open_until` is the shop's clock: shown as the console's other times are,
// saying which clock, and said to be over once it has passed (it read a raw ISO time for good).
test('the console shows an open breaker\'s wait by the shop\'s clock, and when it is over', async () => {
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  const until = (ms) => new Date(ms).toISOString();
  // Far ahead: the stories before this one move the shared shop's clock forward (an hour and
  // more in all), and an hour ahead of this machine's time had passed by the shop's clock.
  let openUntil = until(Date.now() + 30 * 24 * 3600_000);
  await operator.route('**/_admin/console/breakers', async (route) => {
    const answer = await route.fetch();
    const body = await answer.json();
    for (const plane of Object.values(body.services || {})) {
      for (const b of plane.items || []) {
        if (b.name === 'order->catalog') { b.state = 'OPEN'; b.open_until = openUntil; }
      }
    }
    route.fulfill({response: answer, json: body});
  });
  const label = operator.locator('[data-breaker="order->catalog"] [data-test="open-until"]');
  await label.filter({hasText: 'open until'}).waitFor({timeout: 10000});
  assert.match(await label.innerText(), /\(shop clock\)$/);
  assert.doesNotMatch(await label.innerText(), /T\d\d:\d\d/);
  openUntil = until(Date.now() - 60_000);
  await label.filter({hasText: 'its wait ended'}).waitFor({timeout: 10000});
  await operator.unroute('**/_admin/console/breakers');
  await operator.context().close();
});

// A quantity typed and "Check out and pay" clicked at once: the checkout did not wait for the
// quantity's PATCH (400 ms late here), and the order had the old quantity.
test('a checkout clicked while a quantity change is on its way orders the new quantity', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  const token = await shopperToken(page);  // the shop's storage, before the pay page
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-slow-patch', target: 'order', from: 'gateway',
    type: 'delay', delay_ms: 400, match: {method: 'PATCH', path: '/cart/**'}});
  try {
    await page.locator('[data-test="cart-line"] input.qty').fill('5');
    await page.getByRole('button', {name: 'Check out and pay'}).click();  // the field's change goes first
    await payWith(page, '4242424242424242');
    assert.equal((await page.locator('#amount').textContent()).trim(), '€64.50');  // 5 × €12.90
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-slow-patch');
  }
  const orders = await listOrders(shop, token);
  assert.deepEqual(orders.map((o) => o.total_cents), [6450]);
  noProblems(page);
  await page.context().close();
});

// "Skip to content" (href="#main") was read by the hash router as a route: "Page not found".
test('"Skip to content" moves the focus to the page\'s content and keeps the page', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  await page.getByRole('link', {name: 'Skip to content'}).focus();
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  assert.equal(await page.getByRole('heading', {name: 'Page not found'}).count(), 0);
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  assert.match(page.url(), /#\/cart$/);
  // Followed without the click handler (typed, or opened otherwise): the same.
  await page.evaluate(() => { location.hash = '#main'; });
  await page.waitForTimeout(300);
  assert.equal(await page.getByRole('heading', {name: 'Page not found'}).count(), 0);
  assert.match(page.url(), /#\/cart$/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  noProblems(page);
  await page.context().close();
});

// The first drawing of a page opened at "#main" (the skip link opened in a new tab) took it for a
// route: "Page not found" when signed in, and a login that came back to "#main" stayed on the
// login form.
test('a page opened at "#main" draws the shop, signed in or not', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#main`);
  await page.getByRole('heading', {name: 'All products'}).waitFor({timeout: 5000});
  assert.equal(await page.getByRole('heading', {name: 'Page not found'}).count(), 0);
  assert.match(page.url(), /#\/$/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  noProblems(page);
  await page.context().close();
  const signedOut = await newPage(chromium.browser);
  await signedOut.goto(`${shop.url}/#main`);
  await logInOnPage(signedOut, user);
  await signedOut.getByRole('heading', {name: 'All products'}).waitFor({timeout: 5000});
  assert.match(signedOut.url(), /#\/$/);
  noProblems(signedOut);
  await signedOut.context().close();
});

// At 360 px the cart's Remove buttons were clipped inside a table that scrolled sideways, and the
// order history (457 px wide) kept each order's status and total off screen.
test('at 360 px every Remove button and every order\'s status and total are on screen', async () => {
  const page = await newPage(chromium.browser, {viewport: {width: 360, height: 740}, isMobile: true, hasTouch: true});
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 2);
  await addFromDetail(page, 'p-901', 1);  // a long name
  const token = await shopperToken(page);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Idempotency-Key': `web-narrow-${Date.now()}`}});
  assert.equal(created.status, 201);
  await addFromDetail(page, 'p-002', 1);
  await addFromDetail(page, 'p-901', 3);
  // Fully inside the window, and not hidden by a card that scrolls sideways.
  const onScreen = (locator) => locator.evaluateAll((nodes) => nodes.map((node) => {
    const box = node.getBoundingClientRect();
    let clipped = false;
    for (let up = node.parentElement; up; up = up.parentElement) {
      const frame = up.getBoundingClientRect();
      if (getComputedStyle(up).overflowX !== 'visible' && (box.left < frame.left || box.right > frame.right)) clipped = true;
    }
    return {text: node.textContent, inside: box.left >= 0 && box.right <= window.innerWidth && !clipped && box.width > 0};
  }));
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  const removes = await onScreen(page.getByRole('button', {name: /^Remove /}));
  assert.equal(removes.length, 2);
  assert.ok(removes.every((r) => r.inside), JSON.stringify(removes));
  await screenshot(page, 'cart-360');
  await page.goto(`${shop.url}/#/orders`);
  await page.locator('[data-test="order-row"]').first().waitFor();
  const cells = await onScreen(page.locator('[data-test="order-row"] [data-test="order-status"], [data-test="order-row"] td.num'));
  assert.equal(cells.length, 2);
  assert.ok(cells.every((c) => c.inside), JSON.stringify(cells));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  await screenshot(page, 'orders-360');
  // The order's own page too, at 320 px: its lines scrolled sideways in a region the keyboard
  // could not reach, quantities and totals off screen (an outside probe).
  await page.setViewportSize({width: 320, height: 640});
  await page.goto(`${shop.url}/#/orders/${encodeURIComponent((await created.json()).order_id)}`);
  await page.locator('.order-lines tfoot').waitFor();
  const amounts = await onScreen(page.locator('.order-lines td.num'));
  assert.equal(amounts.length, 5, JSON.stringify(amounts));  // 2 quantities, 2 line totals, the total
  assert.ok(amounts.every((a) => a.inside), JSON.stringify(amounts));
  const wrap = await page.locator('.order-lines').evaluate((t) => t.parentElement.scrollWidth - t.parentElement.clientWidth);
  assert.ok(wrap <= 0, `the order's lines do not scroll sideways (${wrap}px)`);
  await screenshot(page, 'order-320');
  noProblems(page);
  await page.context().close();
});

// Every 4xx error box showed a paragraph "null" (the DOM's append() of the missing lead).
test('a 4xx error box says the shop\'s message and nothing made up', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  for (const hash of ['#/orders/o-does-not-exist', '#/products/p-does-not-exist']) {
    await page.goto(`${shop.url}/${hash}`);
    const error = page.locator('[data-test="error"]');
    await error.waitFor({timeout: 5000});
    const paragraphs = await error.locator('p').allTextContents();
    assert.ok(!paragraphs.some((text) => /^\s*(null|undefined)\s*$/.test(text)), `${hash}: ${JSON.stringify(paragraphs)}`);
    assert.doesNotMatch(await error.textContent(), /\bnull\b|\bundefined\b/, hash);
  }
  noProblems(page);
  await page.context().close();
});

// Answers each case's `GET path` with 200 and its body (an abort fault at the gateway), opens
// its page, and checks that the page says it cannot read the answer and draws nothing of it
// (`drawn`: text that would mean it did).
async function saysUnreadable(page, cases, drawn = /undefined|NaN|Cannot read/) {
  for (const [index, c] of cases.entries()) {
    const id = `web-unreadable-${index}`;
    await admin(shop, 'POST', '/_admin/faults', {id, target: 'gateway', from: 'client', type: 'abort', status: 200,
      body: c.body, match: {method: 'GET', path: c.path}});
    try {
      await page.goto(`${shop.url}/#/cart-elsewhere`);  // a route change, so the page is drawn again
      await page.goto(`${shop.url}/${c.hash}`);
      await page.locator('main').getByText('Sorry, the shop sent an answer this page cannot read').first()
        .waitFor({timeout: 5000});
      assert.doesNotMatch(await page.locator('main').textContent(), drawn, `${c.path} ${c.body}`);
    } finally {
      await admin(shop, 'DELETE', `/_admin/faults/${id}`);
    }
  }
}

// A 2xx of the wrong shape ({} or {"items": {}}, from a fault) drew script error text, "SKU
// undefined €NaN" or "No orders yet" on the order list, the product list, the categories and a
// product's page.
test('an answer of the wrong shape is said plainly on every page that reads one', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await saysUnreadable(page, [
    {path: '/api/orders', body: '{"items":{}}', hash: '#/orders'},
    {path: '/api/orders', body: '{}', hash: '#/orders'},
    {path: '/api/catalog/products', body: '{}', hash: '#/'},
    {path: '/api/catalog/categories', body: '{"items":{}}', hash: '#/'},
    {path: '/api/catalog/products/p-005', body: '{}', hash: '#/products/p-005'},
    {path: '/api/catalog/products/p-005', body: '{"id":"p-005"}', hash: '#/products/p-005'},
    {path: '/api/cart', body: '{"items":[{}]}', hash: '#/cart'},
  ], /undefined|NaN|Cannot read|No orders yet/);
  noProblems(page);
  await page.context().close();
});

// Answers as the contract gives them, for the stories below to take fields out of.
const AT = '2025-01-01T00:00:00.000Z';
const LINE = {product_id: 'p-001', name: 'Crafted Mug', quantity: 1, unit_price_cents: 500, line_total_cents: 500};
const PRODUCT = {id: 'p-005', sku: 'SKU-0005', name: 'Crafted Lamp', description: 'A lamp.', category: 'home',
  price_cents: 500, currency: 'EUR', available: true};
function craftedOrder(fields = {}) {
  return JSON.stringify({order_id: 'ord_x', status: 'PAID', items: [LINE], total_cents: 500, currency: 'EUR',
    created_at: AT, updated_at: AT, payment: null, history: [{status: 'PAID', at: AT, reason: null}], ...fields});
}
function craftedCart(fields = {}) {
  return JSON.stringify({items: [LINE], total_cents: 500, currency: 'EUR', ...fields});
}
function without(object, field) {
  return Object.fromEntries(Object.entries(object).filter(([key]) => key !== field));
}
// JSON.stringify cannot write 1e300 as a number: a field crafted as "HUGE" becomes it.
const huge = (text) => text.replace('"HUGE"', '1e300');

// Shape checks that looked at some of the fields a page reads: a cart line without its name and
// unit price drew an empty link, "€NaN" and "Remove undefined"; an order's line without its
// fields drew "€NaN", one without items an empty table, and a status outside the contract's
// three "Waiting for the payment result"; a price change without its prices, "€NaN".
test('an answer without a field the page shows is said plainly, not as "undefined" or "€NaN"', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  // The crafted answers whole are drawn: what follows is refused for the field it lacks.
  for (const c of [{path: '/api/orders/ord_x', body: craftedOrder(), hash: '#/orders/ord_x', shows: 'Crafted Mug'},
    {path: '/api/cart', body: craftedCart(), hash: '#/cart', shows: 'Crafted Mug'},
    {path: '/api/catalog/products/p-005', body: JSON.stringify(PRODUCT), hash: '#/products/p-005', shows: 'Crafted Lamp'}]) {
    await admin(shop, 'POST', '/_admin/faults', {id: 'web-crafted', target: 'gateway', from: 'client', type: 'abort',
      status: 200, body: c.body, match: {method: 'GET', path: c.path}});
    try {
      await page.goto(`${shop.url}/#/cart-elsewhere`);
      await page.goto(`${shop.url}/${c.hash}`);
      await page.locator('main').getByText(c.shows).first().waitFor({timeout: 5000});
    } finally {
      await admin(shop, 'DELETE', '/_admin/faults/web-crafted');
    }
  }
  await saysUnreadable(page, [
    {path: '/api/cart', body: JSON.stringify({items: [{product_id: 'p-001', quantity: 1, line_total_cents: 100}],
      total_cents: 100}), hash: '#/cart'},
    {path: '/api/cart', body: craftedCart({items: [without(LINE, 'name')]}), hash: '#/cart'},
    {path: '/api/cart', body: craftedCart({items: [without(LINE, 'unit_price_cents')]}), hash: '#/cart'},
    {path: '/api/cart', body: craftedCart({currency: undefined}), hash: '#/cart'},
    {path: '/api/orders/ord_x', body: '{"order_id":"ord_x","status":"PAID","total_cents":500,"items":[{}]}',
      hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({items: [{}]}), hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({items: undefined}), hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({status: 'WEIRD'}), hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({history: [{status: 'WEIRD', at: AT, reason: null}]}),
      hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({currency: undefined}), hash: '#/orders/ord_x'},
    {path: '/api/orders', body: `{"items":[${craftedOrder({status: 'WEIRD'})}]}`, hash: '#/orders'},
    {path: '/api/orders', body: `{"items":[${craftedOrder({items: [without(LINE, 'quantity')]})}]}`, hash: '#/orders'},
    {path: '/api/catalog/products/p-005', body: JSON.stringify(without(PRODUCT, 'currency')), hash: '#/products/p-005'},
    {path: '/api/catalog/products/p-005', body: JSON.stringify(without(PRODUCT, 'description')),
      hash: '#/products/p-005'},
    {path: '/api/catalog/products', body: JSON.stringify({items: [without(PRODUCT, 'currency')], page: 1, page_size: 12,
      total: 1}), hash: '#/'},
  ], /undefined|NaN|Cannot read|Waiting for the payment/);
  // A checkout's 409 price_changed whose changes lack their prices: no "€NaN" in the dialog.
  await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 1});
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-price-change-unreadable', target: 'gateway', from: 'client',
    type: 'abort', status: 409, match: {method: 'POST', path: '/api/orders'},
    body: JSON.stringify({error: {code: 'price_changed', message: 'prices changed', details: {changes: [{product_id: 'p-001'}]}}})});
  try {
    await page.goto(`${shop.url}/#/cart`);
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const dialog = page.getByRole('dialog', {name: 'Prices have changed'});
    await dialog.waitFor({timeout: 5000});
    assert.doesNotMatch(await dialog.textContent(), /NaN|undefined/);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-price-change-unreadable');
  }
  noProblems(page);
  await page.context().close();
});

// isCount took any integer: a catalog total of 1e300 drew "1e+300 products" and "Page 1 of
// 8.333333333333334e+298".
test('a count or an amount that is no safe integer, or past what the page can use, is said plainly', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await saysUnreadable(page, [
    {path: '/api/catalog/products', body: '{"items":[],"total":1e300,"page_size":12}', hash: '#/'},
    {path: '/api/catalog/products', body: '{"items":[],"total":9007199254740993,"page_size":12}', hash: '#/'},
    {path: '/api/catalog/products', body: '{"items":[],"total":9007199254740991,"page_size":12}', hash: '#/'},
    {path: '/api/catalog/categories', body: '{"items":[{"id":"home","name":"Home","product_count":1e300}]}', hash: '#/'},
    {path: '/api/catalog/products/p-005', body: huge(JSON.stringify({...PRODUCT, price_cents: 'HUGE'})),
      hash: '#/products/p-005'},
    {path: '/api/cart', body: craftedCart({total_cents: 2 ** 53}), hash: '#/cart'},
    {path: '/api/cart', body: craftedCart({items: [{...LINE, quantity: 1000}]}), hash: '#/cart'},
    {path: '/api/orders/ord_x', body: huge(craftedOrder({total_cents: 'HUGE'})),
      hash: '#/orders/ord_x'},
    {path: '/api/orders/ord_x', body: craftedOrder({total_cents: -500}), hash: '#/orders/ord_x'},
  ], /undefined|NaN|e\+\d|Page 1 of \d{10}/);
  noProblems(page);
  await page.context().close();
});

// A reload while a checkout was on its way: the key was kept only once an answer came, so the
// reloaded page checked out with a fresh key, got cart_empty, and the first order stayed unpaid.
test('a reload during a slow checkout checks out again with the same key and reaches the order', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  const token = await shopperToken(page);  // the shop's storage, before the pay page
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  const keys = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders') {
      keys.push(request.headers()['idempotency-key']);
    }
  });
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-reload-checkout', target: 'order', from: 'gateway',
    type: 'delay', delay_ms: 3000, match: {method: 'POST', path: '/orders'}});
  try {
    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/orders');
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await sent;
    await page.reload();
    await page.locator('[data-test="cart-line"]').first().waitFor();
    await page.waitForTimeout(2000);  // the first request has placed the order meanwhile
    await admin(shop, 'DELETE', '/_admin/faults/web-reload-checkout');
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.waitForURL(/\/pay\//, {timeout: 10000});
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-reload-checkout').catch(() => {});
  }
  assert.equal(keys.length, 2);
  assert.equal(keys[1], keys[0], 'the reloaded page sends the first attempt\'s Idempotency-Key');
  assert.equal((await listOrders(shop, token)).length, 1);
  noProblems(page);
  await page.context().close();
});

// During a slow checkout the cart's lines could still change: a quantity typed and a line
// removed went into the order while the page showed the old cart (€47.40 shown, €90.30
// ordered), with no word of the wait but a greyed button; and a shopper who went to another
// page was taken to the pay page when the answer came (an outside probe).
test('a slow checkout says so, keeps the cart as shown, and does not pull a shopper who left to the pay page', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await addFromDetail(page, 'p-002', 1);
  const token = await shopperToken(page);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  const shown = await page.locator('[data-test="cart-total"]').textContent();
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-slow-checkout-lines', target: 'order', from: 'gateway',
    type: 'delay', delay_ms: 2500, match: {method: 'POST', path: '/orders'}});
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.locator('[data-test="placing-order"]').getByText('Placing your order').waitFor({timeout: 2000});
    assert.equal(await page.locator('[data-test="placing-order"]').getAttribute('role'), 'status');
    // The lines are inert: no quantity typed or line removed reaches the order.
    const quantity = page.locator('[data-test="cart-line"] input.qty').first();
    assert.equal(await quantity.evaluate((el) => el.closest('[inert]') !== null), true);
    // A real click (mouse input, as a shopper's) on Remove does nothing while inert.
    const box = await page.locator('[data-test="cart-line"] button').last().boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForURL(/\/pay\//, {timeout: 10000});
    const orders = await listOrders(shop, token);
    assert.equal(orders.length, 1);
    assert.equal(orders[0].items.length, 2, 'the order holds both lines the page showed');
    assert.match(shown, new RegExp(String(orders[0].total_cents / 100).replace('.', '\\.')));

    // Leaving while an order is placed: the answer does not take the shopper to the pay page.
    await page.goto(`${shop.url}/`);
    await addFromDetail(page, 'p-003', 1);
    await page.goto(`${shop.url}/#/cart`);
    await page.locator('[data-test="cart-line"]').first().waitFor();
    // A longer delay for this one (the same fault id replaces it): on a machine busy with CI's
    // other lanes, the click, the "placing" notice and the navigation away took longer than
    // 2.5 s, the answer came first and took the shopper to the pay page, and no notice ever
    // came (failed beside the lanes twice, passed alone).
    await admin(shop, 'POST', '/_admin/faults', {id: 'web-slow-checkout-lines', target: 'order', from: 'gateway',
      type: 'delay', delay_ms: 8000, match: {method: 'POST', path: '/orders'}});
    // The shopper leaves once the order is on its way. The page reads the cart before it sends
    // the order, and one that goes elsewhere before that orders nothing, which is said nowhere
    // because nothing happened: under CI's load the read outlasted the test's wait for the
    // "placing" notice, nothing was ordered, and the notice below never came.
    const sent = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders',
      {timeout: 30000});
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.locator('[data-test="placing-order"]').waitFor({timeout: 4000});
    await sent;
    await page.goto(`${shop.url}/#/`);
    const placed = page.locator('[data-test="placed-elsewhere"]');
    await placed.waitFor({timeout: 30000});
    assert.doesNotMatch(page.url(), /\/pay\//);
    assert.match(await placed.textContent(), /is placed and waiting for its payment/);
    assert.equal((await listOrders(shop, token)).length, 2);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-slow-checkout-lines').catch(() => {});
  }
  noProblems(page);
  await page.context().close();
});

// A checkout answered 503 payment_unavailable placed an order and canceled it: the page said
// "your cart is unchanged" beside the API's own words ("check out again with a new
// Idempotency-Key"), while a FAILED order appeared in the shopper's orders; and the pay page
// said "card_number must be 16 digits" (an outside probe).
test('a checkout with payment down says its order was canceled, and the pay page asks for 16 digits in words', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-004', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  try {
    await admin(shop, 'POST', '/_admin/services/payment/stop');
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const error = page.locator('[data-test="error"]');
    await error.getByText('so that order was canceled and nothing was charged').waitFor({timeout: 15000});
    assert.doesNotMatch(await error.textContent(), /cart is unchanged/);
  } finally {
    await admin(shop, 'POST', '/_admin/services/payment/start');
  }
  await page.getByRole('button', {name: 'Try again'}).click();
  await payWith(page, '4242');
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.getByText('Enter the card number: 16 digits').waitFor({timeout: 5000});
  assert.doesNotMatch(await page.locator('body').textContent(), /card_number/);
  // The error is tied to its field (it was said in the alert only; an outside probe), until the
  // number changes.
  const cardField = page.getByLabel('Card number');
  assert.equal(await cardField.getAttribute('aria-invalid'), 'true');
  assert.equal(await cardField.getAttribute('aria-describedby'), 'message');
  await cardField.fill('4242');
  assert.equal(await cardField.getAttribute('aria-invalid'), null);
  // Expiry and CVC say that nothing checks them (an expiry of 13 / 99 paid without a word).
  assert.match(await page.getByLabel('Expiry').evaluate((e) => document.getElementById(e.getAttribute('aria-describedby')).textContent),
    /not checked/);
  noProblems(page);
  await page.context().close();
});

// The order page put a new aria-live status line in place of the old one on every change of
// the order, so a screen reader might announce nothing when the order was paid.
test('the order page keeps one live region and changes its text when the order is paid', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-live-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(`${shop.url}/#/orders/${order.order_id}`);
  await waitForOrderStatus(page, 'PAYMENT_PENDING');
  const live = page.locator('main [aria-live]');
  assert.equal(await live.count(), 1);
  await live.evaluate((node) => { node.dataset.marked = 'yes'; });
  const paid = await fetch(order.payment.pay_url, {method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify({card_number: '4242424242424242'})});
  assert.equal(paid.status, 200);
  await waitForOrderStatus(page, 'PAID');
  assert.equal(await page.locator('main [aria-live]').count(), 1);
  assert.equal(await page.locator('main [aria-live][data-marked="yes"]').count(), 1, 'the same live region');
  assert.match(await page.locator('main [aria-live]').textContent(), /PAID/);
  noProblems(page);
  await page.context().close();
});

// After paying, Back from the order page went to the pay page, which sent the shopper on to the
// order page again (location.assign), on every visit: Back was a trap.
test('Back from the order page after paying leaves the pay flow', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4242424242424242');
  await page.getByRole('button', {name: 'Pay'}).click();
  await backToShop(page);
  await page.waitForURL(/#\/orders\/[^/]+$/, {timeout: 15000});
  await waitForOrderStatus(page, 'PAID');
  await page.goBack();
  await page.waitForTimeout(2500);  // time enough for a page that would send the shopper on
  assert.match(page.url(), /#\/cart$/, 'Back goes to the cart the checkout started from');
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  noProblems(page);
  await page.context().close();
});

// A slow "Add to cart" and then the Cart link at once: the cart page read the cart before the
// add was done, said "Your cart is empty." beside a badge of 1, and never drew it again.
test('the cart page draws the cart again when an add on its way is answered', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await page.goto(`${shop.url}/#/products/p-005`);
  await page.locator('[data-test="product-detail"]').waitFor();
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-slow-add', target: 'order', from: 'gateway',
    type: 'delay', delay_ms: 1500, match: {method: 'POST', path: '/cart/items'}});
  try {
    const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/cart/items'));
    await page.getByRole('button', {name: 'Add to cart'}).click();
    await sent;
    await page.getByRole('link', {name: /^Cart/}).click();
    await page.getByRole('heading', {name: 'Your cart'}).waitFor();
    await page.locator('[data-test="cart-line"][data-product-id="p-005"]').waitFor({timeout: 5000});
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-slow-add');
  }
  assert.equal(await page.locator('#cart-count').textContent(), '1');
  assert.equal(await page.getByText('Your cart is empty.').count(), 0);
  noProblems(page);
  await page.context().close();
});

// A cart tab drawn with one line checked out the bigger cart another tab of the same shopper
// had made meanwhile (the page showed €12.90, the pay page asked €141.90).
test('a checkout of a cart that changed since the page drew it shows the cart again and orders nothing', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  assert.equal(await cartTotal(page), '€12.90');
  const token = await shopperToken(page);
  const added = await fetch(`${shop.url}/api/cart/items`, {method: 'POST',  // "another tab"
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({product_id: 'p-002', quantity: 3})});
  assert.equal(added.status, 200);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await page.locator('[data-test="cart-changed"]').getByText('Your cart changed since this page showed it').waitFor({timeout: 5000});
  await page.locator('[data-test="cart-line"][data-product-id="p-002"]').waitFor();
  assert.equal(await page.locator('[data-test="cart-line"]').count(), 2);
  assert.doesNotMatch(page.url(), /\/pay\//);
  assert.equal((await listOrders(shop, token)).length, 0, 'nothing was ordered');
  // Checked again, the cart as now shown is what is ordered.
  const shown = await cartTotal(page);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4242424242424242');
  assert.equal((await page.locator('#amount').textContent()).trim(), shown);
  noProblems(page);
  await page.context().close();
});

// A key kept from a checkout whose outcome the tab did not see (a reload) answers with the order
// it placed; once that order was paid from its own page, the next checkout of a new cart went to
// the paid order's pay page instead of ordering the cart shown.
test('a kept key whose order was paid since does not stand in for the cart shown', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  const token = await shopperToken(page);
  const key = `web-kept-${Date.now()}`;
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Idempotency-Key': key}});
  assert.equal(created.status, 201);
  const first = await created.json();
  const paid = await fetch(first.payment.pay_url, {method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify({card_number: '4242424242424242'})});
  assert.equal(paid.status, 200);
  // The tab kept the key (as after a reload during that checkout).
  await page.evaluate(([user, kept]) => sessionStorage.setItem('shopctl.pending_checkout',
    JSON.stringify({user, key: kept, at: Date.now()})), [token, key]);
  await addFromDetail(page, 'p-005', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"][data-product-id="p-005"]').waitFor();
  const shown = await cartTotal(page);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4242424242424242');
  assert.equal((await page.locator('#amount').textContent()).trim(), shown);
  assert.equal((await listOrders(shop, token)).length, 2);
  noProblems(page);
  await page.context().close();
});

// The order page keeps its frame (one live region); a "We cannot reach your order" notice from
// a failed poll stayed on it when the next read found the order changed (paid meanwhile).
test('the order page drops the "cannot reach" notice when it reads the order changed', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-reach-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(`${shop.url}/#/orders/${order.order_id}`);
  await waitForOrderStatus(page, 'PAYMENT_PENDING');
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-order-read-fails', target: 'order', from: 'gateway',
    type: 'abort', status: 503, match: {method: 'GET', path: `/orders/${order.order_id}`}});
  try {
    await page.locator('[data-test="order-unreachable"]').waitFor({timeout: 5000});
    const paid = await fetch(order.payment.pay_url, {method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({card_number: '4242424242424242'})});
    assert.equal(paid.status, 200);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-order-read-fails');
  }
  await waitForOrderStatus(page, 'PAID');
  await page.locator('[data-test="order-unreachable"]').waitFor({state: 'detached', timeout: 2000});
  noProblems(page);
  await page.context().close();
});

// One 404 on a poll of an order the page had read (a fault injected on the route) ended the
// polling for good: "Not found" in place of the order, which stayed "pending" after it was paid.
test('the order page keeps polling through a 404 for an order it has read', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-404-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(`${shop.url}/#/orders/${order.order_id}`);
  await waitForOrderStatus(page, 'PAYMENT_PENDING');
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-order-read-404', target: 'order', from: 'gateway',
    type: 'abort', status: 404, match: {method: 'GET', path: `/orders/${order.order_id}`}});
  try {
    await page.locator('[data-test="order-unreachable"]').waitFor({timeout: 5000});
    assert.notEqual(await page.title(), 'Not found · shopctl shop');
    const paid = await fetch(order.payment.pay_url, {method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({card_number: '4242424242424242'})});
    assert.equal(paid.status, 200);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-order-read-404');
  }
  await waitForOrderStatus(page, 'PAID');
  await page.locator('[data-test="order-unreachable"]').waitFor({state: 'detached', timeout: 2000});
  noProblems(page);
  await page.context().close();
});

async function addByApi(at, token, productId, quantity) {
  const added = await fetch(`${at.url}/api/cart/items`, {method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({product_id: productId, quantity})});
  assert.equal(added.status, 200);
}

// A checkout whose first POST never got an answer keeps its key; "Try again" then sent it
// without reading the cart, and ordered the p-020 × 3 another tab had added, which the page never
// showed. And a kept key whose order was placed meanwhile went on to pay that order for a cart
// the page showed as another one.
test('a kept checkout key orders only the cart the page shows', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  const token = await shopperToken(page);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  let cut = true;  // the first checkout's request is cut: its outcome is unknown to the page
  await page.route('**/api/orders', (route) => (cut && route.request().method() === 'POST'
    ? route.abort('connectionreset') : route.continue()));
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await page.locator('[data-test="error"]').getByText('may have been placed').waitFor({timeout: 5000});
  cut = false;
  await addByApi(shop, token, 'p-020', 3);  // "another tab"
  await page.getByRole('button', {name: 'Try again'}).click();
  await page.locator('[data-test="cart-changed"]').getByText('Your cart changed since this page showed it').waitFor({timeout: 5000});
  await page.locator('[data-test="cart-line"][data-product-id="p-020"]').waitFor();
  assert.doesNotMatch(page.url(), /\/pay\//);
  assert.equal((await listOrders(shop, token)).length, 0, 'nothing was ordered');
  const shown = await cartTotal(page);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4242424242424242');
  assert.equal((await page.locator('#amount').textContent()).trim(), shown);
  assert.equal((await listOrders(shop, token)).length, 1);
  noProblems(page);
  await page.context().close();

  // The kept key did place an order (p-005), and the cart the page shows now is another one.
  const second = await newPage(chromium.browser);
  await registerShopper(second, shop);
  await addFromDetail(second, 'p-005', 1);
  const token2 = await shopperToken(second);
  const key = `web-kept-other-${Date.now()}`;
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${token2}`, 'Idempotency-Key': key}});
  assert.equal(created.status, 201);
  const placed = await created.json();
  await second.evaluate(([user, kept]) => sessionStorage.setItem('shopctl.pending_checkout',
    JSON.stringify({user, key: kept, at: Date.now()})), [token2, key]);
  await addByApi(shop, token2, 'p-001', 2);
  await second.goto(`${shop.url}/#/cart`);
  await second.locator('[data-test="cart-line"][data-product-id="p-001"]').waitFor();
  await second.getByRole('button', {name: 'Check out and pay'}).click();
  const earlier = second.locator('[data-test="earlier-order"]');
  await earlier.getByText(placed.order_id).waitFor({timeout: 5000});
  assert.doesNotMatch(second.url(), /\/pay\//);
  assert.equal((await listOrders(shop, token2)).length, 1, 'the cart shown was not ordered yet');
  const shown2 = await cartTotal(second);
  await second.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(second, '4242424242424242');
  assert.equal((await second.locator('#amount').textContent()).trim(), shown2);
  assert.equal((await listOrders(shop, token2)).length, 2);
  noProblems(second);
  await second.context().close();
});

// "Could not add it: ... at most 99" was said in the polite status line only, and gone 2.5 s
// later: an error stays until the shopper goes on, and is announced as an alert.
test('an error stays on the page and is an alert', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addByApi(shop, await shopperToken(page), 'p-001', 99);
  await page.goto(`${shop.url}/#/products/p-001`);
  await page.locator('[data-test="product-detail"]').waitFor();
  await page.getByRole('button', {name: 'Add to cart'}).click();
  const alert = page.getByRole('alert').filter({hasText: 'Could not add it'});
  await alert.waitFor({timeout: 5000});
  await page.waitForTimeout(3500);
  assert.equal(await alert.isVisible(), true, 'still said 3.5 s later');
  // Going on (another page) takes it away.
  await page.getByRole('link', {name: /^Cart/}).click();
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  assert.equal(await page.getByRole('alert').filter({hasText: 'Could not add it'}).count(), 0);
  noProblems(page);
  await page.context().close();
});

// A double click on "Create account" registered twice: the second got 409, whose error flashed.
test('a double click on Create account registers once', async () => {
  const page = await newPage(chromium.browser);
  let registrations = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/api/auth/register')) registrations += 1;
  });
  await page.goto(`${shop.url}/#/register`);
  await page.getByLabel('Name').fill('Double');
  await page.getByLabel('Email').fill(`double-${Date.now()}@shop.test`);
  await page.getByLabel(/^Password/).fill('correct-horse-battery');
  await page.getByRole('button', {name: 'Create account'}).dblclick();
  await page.getByRole('heading', {name: 'All products'}).waitFor();
  await page.waitForTimeout(500);
  assert.equal(registrations, 1);
  assert.equal(await page.getByRole('alert').filter({hasText: /already|409/i}).count(), 0);
  noProblems(page);
  await page.context().close();
});

// After a failed checkout the focus was left on the document's body (the button it was on was
// disabled and the notice drawn elsewhere): a keyboard user had to start from the top.
test('a failed checkout puts the focus on its message', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-checkout-refused', target: 'order', from: 'gateway',
    type: 'abort', status: 400, body: '{"error":{"code":"cart_empty","message":"the cart is empty"}}',
    match: {method: 'POST', path: '/orders'}});
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-test="error"]').waitFor({timeout: 5000});
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-checkout-refused');
  }
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => Boolean(document.activeElement.closest('[data-test="error"]'))), true,
    'the focus is on the error');
  noProblems(page);
  await page.context().close();
});

// A checkout refused for good (409 too_many_unpaid_orders, 400 nothing_to_pay) offered "Try
// again", which only repeated the refusal (an outside probe): the page says what to do instead,
// with no retry, and the cart stays.
test('a checkout refused for good says what to do instead, and offers no Try again', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-002', quantity: 1});
  assert.equal((await user.call('POST', '/api/orders')).status, 201);
  await user.call('POST', '/api/cart/items', {product_id: 'p-003', quantity: 1});
  const page = await signedInPage(user);
  await admin(shop, 'POST', '/_admin/config', {order: {max_unpaid_orders: 1}});
  try {
    await page.goto(`${shop.url}/#/cart`);
    await page.locator('[data-test="cart-line"]').first().waitFor();
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const error = page.locator('[data-test="error"]');
    await error.waitFor({timeout: 5000});
    assert.match(await error.textContent(), /too_many_unpaid_orders/);
    assert.match(await error.locator('[data-test="refusal-lead"]').textContent(), /Pay one of the orders waiting/);
    assert.equal(await error.locator('a[href="#/orders"]').count(), 1);
    assert.equal(await error.locator('[data-test="retry"]').count(), 0, 'no Try again');
  } finally {
    await admin(shop, 'POST', '/_admin/config', {order: {max_unpaid_orders: 100}});
  }
  assert.equal((await user.call('GET', '/api/cart')).json.items.length, 1, 'the cart stays');
  await user.call('DELETE', '/api/cart/items/p-003');
  await setPrice(shop, 'p-001', 0);
  try {
    await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 1});
    await page.goto(`${shop.url}/#/orders`);
    await page.goto(`${shop.url}/#/cart`);
    await page.locator('[data-test="cart-line"][data-product-id="p-001"]').waitFor();
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const error = page.locator('[data-test="error"]');
    await error.waitFor({timeout: 5000});
    assert.match(await error.textContent(), /nothing_to_pay/);
    assert.match(await error.textContent(), /everything in your cart is free/);
    assert.equal(await error.locator('[data-test="retry"]').count(), 0, 'no Try again');
  } finally {
    await setPrice(shop, 'p-001', 1290);
  }
  noProblems(page);
  await page.context().close();
});

// A pasted fault forged the checkout's answer with a pay link to another site: the page went
// there, a card form off the shop (an outside probe). Only the provider's /pay/ pages are
// followed; the page says so and stays, and the order page's Pay now does the same.
test('a pay link that leads off the shop\'s provider is not followed', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  const forged = {order_id: 'ord_aaaaaaaaaaaaaaaaaaaaaaaa', status: 'PAYMENT_PENDING', total_cents: 1290,
    currency: 'EUR', created_at: '2026-12-05T10:00:00Z', items: [{product_id: 'p-001', name: 'x',
      unit_price_cents: 1290, quantity: 1, line_total_cents: 1290}],
    history: [{status: 'PAYMENT_PENDING', at: '2026-12-05T10:00:00Z', reason: null}],
    payment: {payment_id: 'pay_x', status: 'PENDING', pay_url: 'http://127.0.0.1:9/pay/pi_phish'}};
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-forged-pay-link', target: 'gateway',
    type: 'abort', status: 201, body: JSON.stringify(forged), match: {method: 'POST', path: '/api/orders'}});
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.locator('[data-test="error"]').getByText('does not lead to the shop\'s payment page').waitFor({timeout: 5000});
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-forged-pay-link');
  }
  assert.equal(new URL(page.url()).origin, new URL(shop.url).origin, 'the page stayed on the shop');
  // The shop's own pay link is followed as before.
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await page.waitForURL((url) => url.pathname.startsWith('/pay/'), {timeout: 10000});
  noProblems(page);
  await page.context().close();
});

// The provider's origin unread (GET /pay-origin.json without an answer) was taken for a forged
// pay link: "does not lead to the shop's payment page" after a good checkout, and the order
// page's Pay now gone for good (an outside probe). The page says the shop could not be reached
// and offers to go on.
test('a pay link the page could not check is not called untrusted, and the shopper can go on to pay', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-001', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  const accessToken = await shopperToken(page);
  let lost = 0;
  const loseOne = async (route) => {
    if (lost++ === 0) await route.abort('connectionreset'); else await route.continue();
  };
  await page.route('**/pay-origin.json', loseOne);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  const notice = page.locator('[data-test="error"]');
  await notice.getByText('could not be reached to open its pay page').waitFor({timeout: 10000});
  assert.doesNotMatch(await notice.textContent(), /does not lead|untrusted/);
  assert.equal(await page.getByRole('button', {name: 'Check out and pay'}).isEnabled(), false,
    'the cart shown was ordered: its checkout is not offered again');
  await page.getByRole('button', {name: 'Go to the pay page'}).click();
  await page.waitForURL((url) => url.pathname.startsWith('/pay/'), {timeout: 10000});
  // The order page's Pay now: kept, and said, when the origin is not read.
  const orderId = new URL(page.url()).searchParams.get('return_url').split('/').pop();
  const second = await newPage(chromium.browser);
  await second.goto(`${shop.url}/`);
  await second.evaluate((t) => localStorage.setItem('shopctl.token', t), accessToken);
  lost = 0;
  await second.route('**/pay-origin.json', loseOne);
  await second.goto(`${shop.url}/#/orders/${orderId}`);
  await second.getByRole('button', {name: 'Pay now'}).click();
  await second.locator('[data-test="problem"]').getByText('Could not open the pay page').waitFor({timeout: 10000});
  assert.equal(await second.locator('[data-test="error"]').count(), 0, 'no untrusted-link notice');
  await second.getByRole('button', {name: 'Pay now'}).click();
  await second.waitForURL((url) => url.pathname.startsWith('/pay/'), {timeout: 10000});
  await page.context().close();
  await second.context().close();
});

// A pay link whose intent id is not valid percent-encoding (/pay/%FF): the page's script threw
// "URI malformed" and the page stayed on "Loading…" with the test cards.
test('a mangled pay link says so, with nothing to pay', async () => {
  const services = await admin(shop, 'GET', '/_admin/services');
  const provider = services.items.find((s) => s.name === 'provider');
  const page = await newPage(chromium.browser);
  // A link cut short or run on names no intent either: it got the JSON 404 (an outside probe).
  for (const path of ['/pay/%FF', '/pay/%C0%AF', '/pay', '/pay/', '/pay/pi_x/more']) {
    await page.goto(`${provider.url}${path}`);
    await page.getByRole('alert').getByText('not a valid pay link').waitFor({timeout: 5000});
    assert.equal(await page.locator('#amount').textContent(), '');
    assert.equal(await page.getByRole('heading', {name: 'Test cards'}).isVisible(), false);
    assert.equal(await page.locator('#pay-form').isVisible(), false);
  }
  // A link whose id is a sentence: the page does not repeat it as the provider's words.
  const lure = 'Your card is blocked. Call 0800 123 456 to unblock it';
  await page.goto(`${provider.url}/pay/${encodeURIComponent(lure)}`);
  await page.getByRole('alert').getByText('names no payment the provider knows').waitFor({timeout: 5000});
  assert.equal(await page.getByText('0800 123 456').count(), 0, 'the link\'s words are not shown');
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  await page.waitForTimeout(300);
  noProblems(page);
  await page.context().close();
});

// A very large amount (EUR 27,000,000,000.00, a catalog's price times three) ran past the pay
// page's card at 320 px, and the page scrolled sideways (an outside probe).
test('the pay page fits 320 px with a very large amount', async () => {
  const page = await newPage(chromium.browser, {viewport: {width: 320, height: 640}});
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-wide-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(order.payment.pay_url);
  await page.locator('#pay-form').waitFor();
  const amount = page.locator('#amount');
  await amount.filter({hasText: /\d/}).waitFor();
  await amount.evaluate((el) => { el.textContent = '€27,000,000,000.00'; });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
    `no horizontal scrolling at 320 px (${await page.evaluate(() => document.documentElement.scrollWidth)} px wide)`);
  noProblems(page);
  await page.context().close();
});

// A pay page left open while its order expired (payment_expired canceled the intent): Pay said
// "this payment intent was canceled" and kept the card form, the test cards and an enabled Pay
// button, with no way back to the shop.
test('the pay page of a payment canceled meanwhile says how it ended and offers nothing to pay', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-expire-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  const back = `${shop.url}/#/orders/${order.order_id}`;
  await page.goto(`${order.payment.pay_url}?return_url=${encodeURIComponent(back)}`);
  await payWith(page, '4242424242424242');
  await admin(shop, 'POST', '/_admin/clock/advance', {by: '31m'});  // the order expires
  let status = '';
  for (let i = 0; i < 60 && status !== 'canceled'; i += 1) {
    const intent = await fetch(order.payment.pay_url, {headers: {Accept: 'application/json'}});
    status = (await intent.json()).status;
    if (status !== 'canceled') await page.waitForTimeout(250);
  }
  assert.equal(status, 'canceled');
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.locator('#message').getByText('This payment was canceled').waitFor({timeout: 5000});
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  assert.equal(await page.getByRole('heading', {name: 'Test cards'}).isVisible(), false);
  await backToShop(page);
  // The order's page, or the login page on the way to it: the clock moved 31 minutes, past the
  // session's 15, and the shop sends an expired session there at once (waiting for the order's
  // URL alone missed it on a busy machine).
  await page.waitForURL(/#\/(orders\/|login\?next=%2Forders%2F)/, {timeout: 10000});
  noProblems(page);
  await page.context().close();
});

// A provider that hung on the pay request left "Paying…" on a disabled button for good, with
// no word and no way back (an outside probe). The page gives up after 15 s, reads the intent
// again, and offers the form again when no payment was taken.
test('a pay request the provider does not answer is given up, and the page says how the payment stands', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-payhang-${Date.now()}`}});
  assert.equal(created.status, 201);
  const order = await created.json();
  await page.goto(order.payment.pay_url);
  await page.getByLabel('Card number').waitFor();
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-pay-hang', target: 'provider', from: 'client', type: 'hang',
    match: {method: 'POST', path: '/pay/*'}});
  try {
    await payWith(page, '4242424242424242');
    await page.getByRole('button', {name: 'Pay'}).click();
    await page.getByRole('button', {name: 'Paying…'}).waitFor();
    await page.locator('#message').getByText('it has taken no payment for this order: you can try again')
      .waitFor({timeout: 25000});
    assert.equal(await page.getByRole('button', {name: 'Pay'}).isEnabled(), true);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-pay-hang');
  }
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.getByText('Payment succeeded.').waitFor({timeout: 10000});
  noProblems(page);
  await page.context().close();
});

// A 200 to Pay that the page cannot read hid the form and said "could not be reached. Try
// again" (nothing to try again with), and a 200 of {} said "declined" of an intent still to pay
// (an outside probe). The page reads the intent again and says how it stands.
test('a pay answer the page cannot read is checked against the intent, and the form comes back when nothing was paid', async () => {
  for (const [status, body] of [[200, 'not json'], [200, '{}'], [500, 'fault pay-500 answered 500']]) {
    const page = await newPage(chromium.browser);
    await registerShopper(page, shop);
    await addFromDetail(page, 'p-005', 1);
    const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
      headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-payodd-${Date.now()}`}});
    assert.equal(created.status, 201);
    await page.goto((await created.json()).payment.pay_url);
    await page.getByLabel('Card number').waitFor();
    await admin(shop, 'POST', '/_admin/faults', {id: 'web-pay-odd', target: 'provider', from: 'client', type: 'abort',
      status, body, match: {method: 'POST', path: '/pay/*'}, select: {first: 1}});
    try {
      await payWith(page, '4242424242424242');
      await page.getByRole('button', {name: 'Pay'}).click();
      await page.locator('#message').getByText('it has taken no payment for this order: you can try again')
        .waitFor({timeout: 10000});
      assert.doesNotMatch(await page.locator('#message').textContent(), /declined|could not be reached|fault/);
      assert.equal(await page.getByRole('button', {name: 'Pay'}).isEnabled(), true, body);
    } finally {
      await admin(shop, 'DELETE', '/_admin/faults/web-pay-odd').catch(() => {});
    }
    await page.getByRole('button', {name: 'Pay'}).click();
    await page.getByText('Payment succeeded.').waitFor({timeout: 10000});
    await page.context().close();
  }
});

// A Pay whose answer was lost (the provider took the payment, the connection dropped) said
// "could not be reached. Try again" with the form back, of a payment that had gone through (an
// outside probe). The page reads the intent again and says it succeeded.
test('a pay answer lost on the way back is checked against the intent, and a payment taken is said', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-paylost-${Date.now()}`}});
  assert.equal(created.status, 201);
  await page.goto((await created.json()).payment.pay_url);
  await page.getByLabel('Card number').waitFor();
  let lost = 0;
  await page.route('**/pay/*', async (route) => {
    if (route.request().method() !== 'POST' || lost > 0) { await route.continue(); return; }
    lost += 1;
    await route.fetch();  // the provider takes the payment
    await route.abort('connectionreset');  // and its answer never arrives
  });
  await payWith(page, '4242424242424242');
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.locator('#message').getByText('This payment has already succeeded.').waitFor({timeout: 10000});
  assert.equal(lost, 1);
  assert.doesNotMatch(await page.locator('#message').textContent(), /could not be reached|Try again/);
  assert.equal(await page.locator('#pay-form').isVisible(), false);
  await page.context().close();
});

// After paying with the keyboard the focus was left on the body (the form it was in was hidden).
test('after paying, the focus is on the pay page\'s result', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  const created = await fetch(`${shop.url}/api/orders`, {method: 'POST',
    headers: {Authorization: `Bearer ${await shopperToken(page)}`, 'Idempotency-Key': `web-payfocus-${Date.now()}`}});
  assert.equal(created.status, 201);
  await page.goto((await created.json()).payment.pay_url);  // no return_url: the page stays
  await payWith(page, '4242424242424242');
  await page.getByLabel('Card number').press('Enter');
  await page.getByText('Payment succeeded.').waitFor({timeout: 5000});
  assert.equal(await page.evaluate(() => document.getElementById('message').contains(document.activeElement)), true,
    'the focus is on the result');
  noProblems(page);
  await page.context().close();
});

// The fault form refused to send without a word: a Status of 99 typed for abort, then the type
// switched to delay, left an invalid control the form hid, which blocked the submit. And Bytes
// per second took whole numbers from 1 only, where the admin plane takes 0.001 and up.
test('the console\'s fault form is not blocked by a field its type hides, and takes a fraction of a byte a second', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  await operator.getByLabel('Target service').selectOption('catalog');
  await operator.getByLabel('Type').selectOption('abort');
  await operator.getByLabel('Status').fill('99');
  await operator.getByLabel('Type').selectOption('delay');
  await operator.getByLabel('Path (target\'s own, glob)').fill('/web-nothing-here');
  await operator.getByLabel('Id (optional)').fill('web-hidden-invalid');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('[data-fault="web-hidden-invalid"]').waitFor({timeout: 5000});
  await operator.getByLabel('Type').selectOption('slow_body');
  await operator.getByLabel('Bytes per second').fill('0.5');
  await operator.getByLabel('Id (optional)').fill('web-half-a-byte');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('[data-fault="web-half-a-byte"]').waitFor({timeout: 5000});
  const faults = (await admin(shop, 'GET', '/_admin/faults')).items;
  assert.equal(faults.find((f) => f.id === 'web-half-a-byte').bytes_per_second, 0.5);
  await admin(shop, 'DELETE', '/_admin/faults/web-hidden-invalid');
  await admin(shop, 'DELETE', '/_admin/faults/web-half-a-byte');
  noProblems(operator);
  await operator.context().close();
});

// The console opened on #trace= lost the trace's calls once 1,200 newer calls had come in (1,400 requests here): it
// trimmed its own list to the newest 800, the filtered trace's calls with the rest.
test('the console keeps the filtered trace\'s calls when it trims its list', async () => {
  const probe = await fetch(`${shop.url}/api/catalog/products/p-nope`);
  const traceId = probe.headers.get('x-trace-id');
  const operator = await newPage(chromium.browser);
  await openConsole(operator, `#trace=${traceId}`);
  await operator.locator('[data-test="call"]').first().waitFor();
  const before = await operator.locator('[data-test="call"]').count();
  let sent = 0;
  const work = async () => {
    while (sent < 1400) {
      sent += 1;
      await (await fetch(`${shop.url}/api/catalog/products?page=1`)).arrayBuffer();
    }
  };
  await Promise.all(Array.from({length: 16}, work));
  await operator.waitForTimeout(3000);  // the polls read the 1,400 new calls
  assert.ok(await operator.evaluate(() => document.querySelectorAll('[data-test="call"]').length) > 0);
  assert.equal(await operator.locator('[data-test="call"]').count(), before);
  assert.equal(await operator.locator('#trace').inputValue(), traceId);
  noProblems(operator);
  await operator.context().close();
});

// Each action's own poll (Clear all, Add fault, Advance, a service's button) started while one
// was on its way left a timer of its own: over a slow link the console read the shop several
// times a second after a few clicks.
test('the console polls in one loop however many actions are clicked', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  await operator.route('**/_admin/**', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    await route.continue().catch(() => {});
  });
  let reads = 0;
  operator.on('request', (request) => { if (request.url().endsWith('/_admin/services')) reads += 1; });
  const rate = async () => {
    const start = reads;
    await operator.waitForTimeout(4000);
    return (reads - start) / 4;
  };
  const before = await rate();
  for (let i = 0; i < 12; i += 1) {
    await operator.getByRole('button', {name: 'Clear all faults'}).click();
    await operator.waitForTimeout(150 + 50 * (i % 4));
  }
  const after = await rate();
  assert.ok(after <= before + 0.5, `reads a second: ${before} before, ${after} after the clicks`);
  noProblems(operator);
  await operator.context().close();
});

// "Forget token" while a poll was on its way: the poll's answer (401, sent without a token)
// made the token form say "The admin token was refused; enter it again."
test('Forget token says nothing of a refused token', async () => {
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  await operator.route('**/_admin/**', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    await route.continue().catch(() => {});
  });
  await operator.waitForTimeout(1300);
  await operator.getByRole('button', {name: 'Forget token'}).click();
  await operator.waitForTimeout(2500);
  assert.equal(await operator.locator('#token-form').isVisible(), true);
  assert.equal((await operator.locator('#token-error').textContent()).trim(), '');
  noProblems(operator);
  await operator.context().close();
});

// A read of the admin plane that failed (a split shop's hung process: 503 process_unreachable
// after 10 s) left the whole console undrawn, the old "running" and breaker states shown as
// current, with a status line gone after 4 s.
test('the console marks each panel it could not read as not current, until a read succeeds', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  await operator.route('**/_admin/services', (route) => route.fulfill({status: 503, contentType: 'application/json',
    body: JSON.stringify({error: {code: 'process_unreachable', message: 'payment did not answer'}})}));
  const stale = operator.locator('#services [data-test="stale"]');
  await stale.getByText('process_unreachable').waitFor({timeout: 5000});
  assert.match(await stale.textContent(), /not current/i);
  const clock = await operator.locator('#clock').textContent();
  await operator.waitForTimeout(4500);
  assert.equal(await stale.isVisible(), true, 'still said');
  assert.notEqual(await operator.locator('#clock').textContent(), clock, 'the other panels go on');
  assert.equal(await operator.locator('#faults [data-test="stale"]').count(), 0);
  await operator.unroute('**/_admin/services');
  await stale.waitFor({state: 'detached', timeout: 5000});
  noProblems(operator);
  await operator.context().close();
});

// ---- a shopper made through the API, for the stories below --------------------------------

let apiShoppers = 0;
async function callShop(method, route, body, accessToken) {
  const headers = {Accept: 'application/json'};
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${shop.url}${route}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  return {status: response.status, json: await response.json().catch(() => null)};
}
async function apiShopper(name = 'Api Shopper') {
  apiShoppers += 1;
  const email = `api-${Date.now()}-${apiShoppers}@shop.test`;
  const password = 'correct-horse-battery';
  assert.equal((await callShop('POST', '/api/auth/register', {name, email, password})).status, 201);
  const token = (await callShop('POST', '/api/auth/login', {email, password})).json.access_token;
  return {email, password, token, call: (method, route, body) => callShop(method, route, body, token)};
}
async function logInOnPage(page, user) {
  await page.getByRole('heading', {name: 'Log in'}).waitFor();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel(/^Password/).fill(user.password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.waitForFunction(() => !location.hash.startsWith('#/login'));
}
// A page signed in as `user` from its first load.
async function signedInPage(user, options = {}) {
  const page = await newPage(chromium.browser, options);
  await page.context().addInitScript(([token, email]) => {
    if (!sessionStorage.getItem('signed-in-once')) {
      sessionStorage.setItem('signed-in-once', '1');
      localStorage.setItem('shopctl.email', email);
      localStorage.setItem('shopctl.token', token);
    }
  }, [user.token, user.email]);
  return page;
}
async function setAvailable(productId, available) {
  const services = await admin(shop, 'GET', '/_admin/services');
  const catalog = services.items.find((s) => s.name === 'catalog');
  const response = await fetch(`${catalog.url}/_admin/products/${productId}`, {method: 'POST',
    headers: {'X-Admin-Token': shop.adminToken, 'Content-Type': 'application/json'}, body: JSON.stringify({available})});
  assert.ok(response.ok, `set available: ${response.status}`);
}
// Holds the browser's POST /api/orders for `ms` before sending it on (a slow checkout).
async function slowCheckouts(page, ms) {
  await page.route('**/api/orders', async (route) => {
    if (route.request().method() === 'POST') await new Promise((resolve) => setTimeout(resolve, ms));
    await route.continue();
  });
}

// A slow checkout's answer arrived after the shopper logged out and another logged in on the
// tab: the tab went to the previous user's pay page, and the next user paid their order; its
// 409 price_changed opened the previous user's price dialog over the next user's page.
test('an answer that comes after its session ended is dropped: no pay page, no dialog', async () => {
  const alice = await apiShopper('Alice');
  const bob = await apiShopper('Bob');
  await alice.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 1});
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/#/cart`);
  await logInOnPage(page, alice);
  await page.locator('[data-test="cart-line"]').waitFor();
  await slowCheckouts(page, 4000);
  const isCheckout = (r) => r.url().endsWith('/api/orders') && r.method() === 'POST';
  const sent = page.waitForRequest(isCheckout);
  const placed = page.waitForResponse((r) => isCheckout(r.request()));
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await sent;
  await page.getByRole('button', {name: 'Log out'}).click();
  await logInOnPage(page, bob);
  assert.equal((await placed).status(), 201, 'Alice\'s order was placed');
  await page.waitForTimeout(1000);
  assert.doesNotMatch(page.url(), /\/pay\//, 'Bob is not sent to pay Alice\'s order');
  assert.equal(await page.locator('#who').textContent(), bob.email);
  await page.getByRole('heading', {name: 'All products'}).waitFor();

  // The same with a changed price, and the logout made in another tab (the storage event).
  await bob.call('POST', '/api/cart/items', {product_id: 'p-007', quantity: 1});
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').waitFor();
  const price = (await callShop('GET', '/api/catalog/products/p-007', undefined, bob.token)).json.price_cents;
  await setPrice(shop, 'p-007', price + 250);
  try {
    const resent = page.waitForRequest(isCheckout);
    const refused = page.waitForResponse((r) => isCheckout(r.request()));
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await resent;
    const other = await page.context().newPage();
    await other.goto(`${shop.url}/#/`);
    await other.getByRole('button', {name: 'Log out'}).click();
    await page.waitForURL(/reason=other_tab/, {timeout: 5000});
    assert.equal((await refused).status(), 409);
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('#price-dialog').evaluate((dialog) => dialog.open), false, 'no price dialog');
    await page.getByText('You signed out in another tab').waitFor();
    await other.close();
  } finally {
    await setPrice(shop, 'p-007', price);
  }
  noProblems(page);
  await page.context().close();
});

// Back from the pay page left an order waiting for its payment that the (empty) cart never
// mentioned: the shopper bought the items again, and the first order's expiry later put them
// back in the cart.
test('the cart points to an order waiting for payment after Back from the pay page', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 1});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await page.waitForURL(/\/pay\//);
  await page.locator('#pay-form').waitFor({state: 'visible'});
  await page.goBack();
  await page.getByText('Your cart is empty.').waitFor();
  const waiting = page.locator('[data-test="orders-waiting"]');
  await waiting.getByText('You have an order waiting for payment').waitFor({timeout: 5000});
  await screenshot(page, 'cart-order-waiting');
  await waiting.getByRole('link', {name: 'pay it'}).click();
  await page.waitForURL(/#\/orders\/[^/]+$/);
  await waitForOrderStatus(page, 'PAYMENT_PENDING');
  await page.getByRole('button', {name: 'Pay now'}).waitFor();
  noProblems(page);
  await page.context().close();
});

// The registration succeeded and the login right after it got no answer: the next click
// registered again and said "an account with that email exists", and the shopper stayed there.
test('a login that fails right after registering is tried again by the next click', async () => {
  const page = await newPage(chromium.browser);
  let cut = false;
  await page.route('**/api/auth/login', (route) => {
    if (cut) return route.continue();
    cut = true;
    return route.abort('connectionreset');
  });
  await page.goto(`${shop.url}/#/register`);
  await page.getByLabel('Name').fill('Registered');
  await page.getByLabel('Email').fill(`registered-${Date.now()}@shop.test`);
  await page.getByLabel(/^Password/).fill('correct-horse-battery');
  await page.getByRole('button', {name: 'Create account'}).click();
  await page.locator('[data-test="registered-not-signed-in"]').getByText('Your account is created').waitFor({timeout: 5000});
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByRole('heading', {name: 'All products'}).waitFor({timeout: 5000});
  assert.ok(await page.evaluate(() => Boolean(localStorage.getItem('shopctl.token'))), 'signed in');
  noProblems(page);
  await page.context().close();
});

// The price dialog stayed open over the page Back went to, and its button then did nothing.
test('a route change closes the price dialog', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-006', quantity: 1});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/orders`);
  await page.getByRole('heading', {name: 'Your orders'}).waitFor();
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').waitFor();
  const price = (await callShop('GET', '/api/catalog/products/p-006', undefined, user.token)).json.price_cents;
  await setPrice(shop, 'p-006', price + 100);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.locator('#price-dialog[open]').waitFor({timeout: 5000});
    await page.goBack();
    await page.getByRole('heading', {name: 'Your orders'}).waitFor();
    assert.equal(await page.locator('#price-dialog').evaluate((dialog) => dialog.open), false);
    assert.match(page.url(), /#\/orders$/, 'closing it did not draw the cart over the orders');
  } finally {
    await setPrice(shop, 'p-006', price);
  }
  noProblems(page);
  await page.context().close();
});

// The cart badge was read when the app loaded, before the login: it said 0 for a cart of 3, and
// the previous user's count after a logout and another user's login.
test('the cart badge shows the cart of the user who just logged in', async () => {
  const alice = await apiShopper('Alice');
  const bob = await apiShopper('Bob');
  await alice.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 3});
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/`);
  await logInOnPage(page, alice);
  await page.locator('#cart-count', {hasText: /^3$/}).waitFor({timeout: 5000});
  await page.getByRole('button', {name: 'Log out'}).click();
  await logInOnPage(page, bob);
  await page.getByRole('heading', {name: 'All products'}).waitFor();
  await page.waitForTimeout(500);
  assert.equal(await page.locator('#cart-count').textContent(), '0');
  noProblems(page);
  await page.context().close();
});

// 409 product_unavailable said "some products in the cart cannot be bought now" without
// saying which.
test('a checkout refused for an unavailable product names it and marks its line', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-004', quantity: 1});
  await user.call('POST', '/api/cart/items', {product_id: 'p-005', quantity: 2});
  const name = (await callShop('GET', '/api/catalog/products/p-004', undefined, user.token)).json.name;
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  await setAvailable('p-004', false);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    const error = page.locator('[data-test="error"]');
    await error.waitFor({timeout: 5000});
    assert.match(await error.textContent(), new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await page.locator('[data-test="cart-line"][data-product-id="p-004"] [data-test="line-unavailable"]').waitFor();
    assert.equal(await page.locator('[data-test="cart-line"][data-product-id="p-005"] [data-test="line-unavailable"]').count(), 0);
    assert.doesNotMatch(page.url(), /\/pay\//);
  } finally {
    await setAvailable('p-004', true);
  }
  noProblems(page);
  await page.context().close();
});

// A page number past the catalog's largest (2^31 - 1) showed its 400 instead of the last page.
test('a page number past the catalog\'s largest shows the last page', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  for (const number of ['2147483648', '99999999999999999999999']) {
    await page.goto(`${shop.url}/#/?page=${number}`);
    await page.locator('[data-test="page"]', {hasText: /^Page (\d+) of \1$/}).waitFor({timeout: 5000});
    assert.equal(await page.locator('[data-test="error"]').count(), 0);
  }
  noProblems(page);
  await page.context().close();
});

// A failed quantity change left the new number in the field beside the old totals, and
// "2.9" or "1e1" were ordered as 2 and 1 without a word.
test('a quantity field shows what the cart holds after a failure, and takes whole numbers only', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 3});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/cart`);
  const field = page.locator('[data-test="cart-line"] input.qty');
  await field.waitFor();
  for (const typed of ['2.9', '1e1']) {
    await field.fill(typed);
    await field.press('Tab');
    await page.locator('[data-test="problem"]').getByText('whole number').waitFor({timeout: 5000});
    assert.equal(await field.inputValue(), '3');
    assert.equal((await user.call('GET', '/api/cart')).json.items[0].quantity, 3);
  }
  // A failure that made no change for sure (the gateway's refused connection: the request never
  // reached the order service).
  await page.route('**/api/cart/items/*', (route) => route.fulfill({status: 503, contentType: 'application/json',
    body: JSON.stringify({error: {code: 'service_unavailable',
      message: 'the order service is unavailable (connection_refused)'}})}));
  await field.fill('5');
  await field.press('Tab');
  await page.locator('[data-test="problem"]').getByText('Could not change it').waitFor({timeout: 5000});
  assert.equal(await field.inputValue(), '3', 'the field shows the quantity the totals show');
  assert.equal(await cartTotal(page), '€38.70');
  noProblems(page);
  await page.context().close();
});

// The gateway's 504 for the requests to `glob`, sent once the shop has answered them: what a
// shopper gets when the order service makes a change later than the gateway waits.
async function answerLateWith504(page, glob) {
  await page.route(glob, async (route) => {
    await route.fetch();
    await route.fulfill({status: 504, contentType: 'application/json',
      body: JSON.stringify({error: {code: 'upstream_timeout', message: 'the order service did not answer in time (timeout)'}})});
  });
}

// `user`'s page of one product, and its "Add to cart" button.
async function productPageOf(user, productId) {
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/products/${productId}`);
  const add = page.getByRole('button', {name: /Add to cart/});
  await add.waitFor();
  return {page, add};
}

// An outside probe: two quick quantity changes went out at once, and the slower first one landed
// last (typed 3 then 5, the cart held 3); a change answered 504 after the order service had
// made it showed the old quantity for good, and the checkout then said the cart had changed
// "in another tab". Changes to a line go one after another; one whose outcome is unknown keeps
// what was typed and the cart is read again.
test('quick quantity changes land in the order typed, and one the shop did not answer in time is read again', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 1});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/cart`);
  const field = page.locator('[data-test="cart-line"] input.qty');
  await field.waitFor();
  const held = async () => (await user.call('GET', '/api/cart')).json.items[0].quantity;
  await admin(shop, 'POST', '/_admin/faults', {id: 'web-qty-slow', target: 'order', type: 'delay', delay_ms: 1500,
    match: {method: 'PATCH', path: '/cart/items/*'}, select: {first: 1}});
  try {
    await field.fill('3');
    await field.press('Tab');
    await page.waitForTimeout(300);
    await field.fill('5');
    await field.press('Tab');
    for (let i = 0; i < 60 && (await held()) !== 5; i += 1) await page.waitForTimeout(100);
    await page.waitForTimeout(1500);  // the first change's slow answer is long in
    assert.equal(await held(), 5, 'the cart holds the quantity typed last');
    await page.waitForFunction(() => document.querySelector('[data-test="cart-total"]').textContent.includes('64.50'));
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-qty-slow');
  }
  // The order service makes the change; the page gets the gateway's 504.
  await answerLateWith504(page, '**/api/cart/items/*');
  await field.fill('7');
  await field.press('Tab');
  await page.locator('[data-test="problem"]').getByText('Could not confirm the change').waitFor({timeout: 5000});
  assert.equal(await field.inputValue(), '7', 'the field keeps what was typed');
  await page.waitForFunction(() => document.querySelector('[data-test="cart-total"]').textContent.includes('90.30'),
    null, {timeout: 8000});
  assert.equal(await held(), 7);
  noProblems(page);
  await page.context().close();
});

// A Remove answered 504 after the order service had removed the line said "Could not remove
// it" and kept showing the line and the old total, and the next checkout said the cart had
// changed "in another tab" (an outside probe): it says the removal may have been made, and the
// cart is read again.
test('a removal the shop did not answer in time says it may have been made, and the cart is read again', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-003', quantity: 2});
  await user.call('POST', '/api/cart/items', {product_id: 'p-004', quantity: 1});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').nth(1).waitFor();
  await answerLateWith504(page, '**/api/cart/items/*');
  await page.locator('[data-test="cart-line"][data-product-id="p-003"]').getByRole('button', {name: /Remove/}).click();
  await page.locator('[data-test="problem"]').getByText('It may have been removed all the same').waitFor({timeout: 5000});
  assert.equal((await user.call('GET', '/api/cart')).json.items.length, 1, 'the shop removed it');
  await page.waitForFunction(() => document.querySelectorAll('[data-test="cart-line"]').length === 1, null, {timeout: 8000});
  noProblems(page);
  await page.context().close();
});

// Offline, every failure was "the shop is having trouble right now (network_error)": the
// shopper's connection, not the shop, was the trouble (an outside probe).
test('a shopper whose device is offline is told so, not that the shop has trouble', async () => {
  const {page, add} = await productPageOf(await apiShopper(), 'p-002');
  await page.context().setOffline(true);
  try {
    await add.click();
    const said = page.locator('[data-test="problem"] #problem-text');
    await said.getByText('this device is offline').waitFor({timeout: 5000});
    assert.doesNotMatch(await said.textContent(), /having trouble/);
    await page.goto(`${shop.url}/#/products/p-003`).catch(() => {});
    const notice = page.locator('[data-test="error"]');
    await notice.getByText('You are offline').waitFor({timeout: 5000});
  } finally {
    await page.context().setOffline(false);
  }
  await page.getByRole('button', {name: 'Try again'}).click();
  await page.getByRole('button', {name: /Add to cart/}).waitFor({timeout: 5000});
  await page.context().close();
});

// An "Add to cart" answered 504 after the order service had added it said "Could not add it",
// and adding again made two (an outside probe): it says it may be in the cart, and the badge
// is read again.
test('an add to cart the shop did not answer in time says it may have been added, and the badge is read again', async () => {
  const {page, add} = await productPageOf(await apiShopper(), 'p-012');
  await answerLateWith504(page, '**/api/cart/items');
  await add.click();
  await page.locator('[data-test="problem"]').getByText('It may have been added all the same').waitFor({timeout: 5000});
  await page.waitForFunction(() => document.getElementById('cart-count').textContent === '1', null, {timeout: 8000});
  noProblems(page);
  await page.context().close();
});

// An action that failed for the shop's reasons said the API's words to the shopper: "Could not
// add it: the order service is unavailable (connection_refused)" (an outside probe).
test('an action the shop could not do is said in the shopper\'s words, with its code', async () => {
  const {page, add} = await productPageOf(await apiShopper(), 'p-003');
  await page.route('**/api/cart/items', (route) => route.fulfill({status: 503, contentType: 'application/json',
    body: JSON.stringify({error: {code: 'service_unavailable', message: 'the order service is unavailable (connection_refused)'}})}));
  await add.click();
  const said = page.locator('[data-test="problem"] #problem-text');
  await said.waitFor({timeout: 5000});
  assert.equal(await said.textContent(),
    'Could not add it: the shop is having trouble right now (service_unavailable). Please try again in a moment.');
  noProblems(page);
  await page.context().close();
});

// A page that failed to load kept the previous page's title, offered "Try again" on a 404
// (which can only fail again), and the product list was wider than a 320 px screen.
test('a page that fails to load says so in the title, offers a retry only when it can help, and fits 320 px', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user, {viewport: {width: 320, height: 640}});
  await page.goto(`${shop.url}/#/?q=tea`);
  await page.getByRole('heading', {name: /“tea”/}).waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
    'no horizontal scrolling at 320 px');
  const search = await page.getByRole('button', {name: 'Search'}).boundingBox();
  assert.ok(search.x + search.width <= 320, 'the search button is on screen');
  await page.evaluate(() => { location.hash = '#/products/p-nope'; });
  await page.locator('[data-test="error"]').waitFor();
  assert.equal(await page.title(), 'Not found · shopctl shop');
  assert.equal(await page.locator('[data-test="retry"]').count(), 0, 'no Try again on a 404');
  // A link whose id is a sentence: the catalog's 404 quotes the id, and the shop showed it in its
  // red box as its own words (an outside probe). The shop says it in its own.
  const lure = "x'. Your account is locked: call +1 555 0100 to unlock it. Ref '";
  await page.evaluate((id) => { location.hash = `#/products/${encodeURIComponent(id)}`; }, lure);
  await page.locator('[data-test="error"]').getByText('There is no such product in the shop').waitFor();
  assert.equal(await page.getByText('555 0100').count(), 0, 'the link\'s words are not shown');
  await page.route('**/api/cart', (route) => route.abort('failed'));
  await page.evaluate(() => { location.hash = '#/cart'; });
  // The cart's own error, with its Try again: the product's error box stays on screen until
  // the cart page replaces it, and a wait for any error box took that one on a busy machine
  // (seen in CI beside the other lanes: "no Try again").
  await page.locator('[data-test="retry"]').waitFor({timeout: 10000});
  assert.match(await page.title(), /cart/i);
  assert.equal(await page.locator('[data-test="retry"]').count(), 1, 'Try again when the shop could not be reached');
  noProblems(page);
  await page.context().close();
});

// A restart answered 200 with "running": false (it raced another restart) was said as
// "restart done" while the service was stopped.
test('the console says the state a service action left, not "done"', async () => {
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  await operator.route('**/_admin/services/catalog/restart', (route) => route.fulfill({status: 200,
    contentType: 'application/json', body: JSON.stringify({service: 'catalog', action: 'restart', running: false})}));
  await operator.getByRole('button', {name: 'restart catalog'}).click();
  const status = operator.locator('#status');
  await status.getByText(/catalog is stopped/).waitFor({timeout: 5000});
  assert.doesNotMatch(await status.textContent(), /restart done/);
  noProblems(operator);
  await operator.context().close();
});

// While the next page loaded, the one before stayed live and said nothing: page 1's "Add to
// cart" buttons worked for the 10 s a hung catalog took, under page 2's title (an outside probe).
test('a page on its way dims the page before it, takes no input there, and says Loading…', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/catalog/products/p-002', async (route) => { await held; await route.continue(); });
  await page.evaluate(() => { location.hash = '#/products/p-002'; });
  await page.locator('main[aria-busy="true"]').waitFor({timeout: 5000});
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('main'), '::before').content), '"Loading…"');
  assert.equal(await page.evaluate(() => document.querySelector('[data-test="product"] button').closest('[inert]') !== null),
    true, 'the list shown before takes no input');
  release();
  await page.locator('[data-test="product-detail"][data-product-id="p-002"]').waitFor();
  await page.waitForFunction(() => !document.querySelector('main').hasAttribute('aria-busy'));
  assert.equal(await page.evaluate(() => document.querySelector('main [inert]')), null);
  noProblems(page);
  await page.context().close();
});

// A heading that quoted a long search, and a long email in the top bar, made a 375 px page
// 2,088 px and 1,064 px wide (an outside probe).
test('long text a shopper typed wraps at 375 px: a search, an email', async () => {
  const user = await apiShopper();
  const long = await (async () => {
    const email = `${'a'.repeat(40)}-${Date.now()}@${'verylongdomainname'.repeat(2)}.test`;
    assert.equal((await callShop('POST', '/api/auth/register', {name: 'Long', email, password: user.password})).status, 201);
    const token = (await callShop('POST', '/api/auth/login', {email, password: user.password})).json.access_token;
    return {email, password: user.password, token};
  })();
  const page = await signedInPage(long, {viewport: {width: 375, height: 800}, isMobile: true, hasTouch: true});
  await page.goto(`${shop.url}/#/?q=${'Supercalifragilistic'.repeat(8)}`);
  await page.getByRole('heading', {name: /All products/}).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  assert.equal(await page.locator('#who').textContent(), long.email);
  noProblems(page);
  await page.context().close();
});

// Keyboard users kept no place: "Add to cart" disabled during its request dropped the focus to
// the page, and the cart drawn again after a quantity change moved it to <main> (the next Tab
// went to the first product link).
test('the keyboard keeps its place after Add to cart and after a cart line changes', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  const add = page.locator('[data-test="product"] button').first();
  await add.focus();
  const answer = cartAnswer(page);
  await page.keyboard.press('Enter');
  await answer;
  await page.locator('#flash').getByText('Added to your cart').waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-test="product"] button').disabled);
  assert.equal(await page.evaluate(() => document.activeElement === document.querySelector('[data-test="product"] button')),
    true, 'the focus is back on the button');

  await user.call('POST', '/api/cart/items', {product_id: 'p-002', quantity: 1});
  await page.goto(`${shop.url}/#/cart`);
  const field = page.locator('[data-test="cart-line"] input.qty').first();
  await field.waitFor();
  const line = await page.locator('[data-test="cart-line"]').first().getAttribute('data-product-id');
  const before = (await user.call('GET', '/api/cart')).json.items.find((item) => item.product_id === line).quantity;
  // A number field's arrow key sends the quantity at once, and the cart is then read again and
  // drawn again: here that read is held, so the next key presses land while it is on its way.
  // The page stays live meanwhile (it was inert: the second arrow key and the Tab were lost,
  // and the focus went back to the field).
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/cart', async (route) => {
    if (route.request().method() === 'GET') await held;
    await route.continue();
  });
  const patched = (n) => page.waitForResponse((r) => r.request().method() === 'PATCH'
    && r.url().includes('/api/cart/items/') && r.request().postDataJSON().quantity === n);
  const reread = page.waitForRequest((r) => r.method() === 'GET' && r.url().endsWith('/api/cart'));
  await field.focus();
  let sent = patched(before + 1);
  await page.keyboard.press('ArrowUp');
  await sent;
  await reread;
  sent = patched(before + 2);
  await page.keyboard.press('ArrowUp');
  assert.equal(await field.inputValue(), String(before + 2), 'the second arrow key reached the field');
  await sent;
  await page.keyboard.press('Tab');
  const key = await page.evaluate(() => {
    document.activeElement.dataset.old = 'yes';
    return document.activeElement.dataset.focusKey;
  });
  assert.equal(key, `remove:${line}`, 'the Tab went to the line\'s Remove');
  release();
  // The cart is drawn again (a new Remove button), and the focus is on the same line's Remove.
  await page.waitForFunction((want) => document.activeElement?.dataset?.focusKey === want
    && !document.activeElement.dataset.old && document.activeElement.isConnected
    && !document.querySelector('main').hasAttribute('aria-busy'), key);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.focusKey), key);
  assert.equal(await field.inputValue(), String(before + 2));
  assert.equal((await user.call('GET', '/api/cart')).json.items.find((item) => item.product_id === line).quantity, before + 2);
  await page.unroute('**/api/cart');
  // Removing the line puts the focus on the Remove of the line now in its place.
  const removed = page.waitForResponse((r) => r.request().method() === 'DELETE');
  await page.keyboard.press('Enter');
  await removed;
  await page.waitForFunction((gone) => document.querySelectorAll('[data-test="cart-line"]').length === 1
    && document.activeElement?.dataset?.focusKey?.startsWith('remove:') && document.activeElement.dataset.focusKey !== gone, key);
  noProblems(page);
  await page.context().close();
});

// The browser's own check (too short) stopped the submit, and the page's message from the
// previous submit ("too easy to guess") stayed beside it.
test('a submit the browser refuses clears the page\'s message from the last one', async () => {
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/#/register`);
  await page.getByLabel('Name').fill('Weak');
  await page.getByLabel('Email').fill(`weak-${Date.now()}@shop.test`);
  await page.getByLabel(/^Password/).fill('12345678');
  await page.getByRole('button', {name: 'Create account'}).click();
  const said = page.locator('form [role="alert"]');
  await said.getByText(/too easy to guess/).waitFor();
  await page.getByLabel(/^Password/).fill('1234567');
  await page.getByRole('button', {name: 'Create account'}).click();
  await page.waitForFunction(() => !document.querySelector('form [role="alert"]'));
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'the browser points at the field');
  noProblems(page);
  await page.context().close();
});

// ---- accessibility (an outside audit: axe-core and the keyboard in headless Chromium) -------

// The WCAG contrast ratio of two "rgb(...)" colours.
function contrast(a, b) {
  const luminance = (rgb) => {
    const [r, g, b2] = rgb.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b2;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// The focused element's ring colours (outline and box-shadow rings) and the background around it.
function ringOf(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const colours = [style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 ? style.outlineColor : null,
      ...(style.boxShadow.match(/rgba?\([^)]*\)/g) || [])].filter(Boolean).filter((c) => !/rgba\([^)]*,\s*0\)$/.test(c));
    let around = el.parentElement;
    while (around && /rgba\(0, 0, 0, 0\)|transparent/.test(getComputedStyle(around).backgroundColor)) around = around.parentElement;
    const background = around ? getComputedStyle(around).backgroundColor : 'rgb(255, 255, 255)';
    return {colours, background, text: el.textContent.trim().slice(0, 30)};
  });
}

// WCAG 1.4.11: the amber focus ring was about 2:1 on white and on the grey page.
test('the focus ring stands out at 3:1 on every background it meets', async () => {
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-005', quantity: 1});
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  const places = [
    ['the top bar', page.getByRole('link', {name: /^Cart/})],
    ['a white card', page.locator('[data-test="product"] button').first()],
    ['the grey page', page.getByRole('link', {name: 'Next →'})],
  ];
  const backgrounds = new Set();
  for (const [where, control] of places) {
    await control.focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await ringOf(page);
    backgrounds.add(ring.background);
    const best = Math.max(...ring.colours.map((c) => contrast(c, ring.background)));
    assert.ok(best >= 3, `${where} ("${ring.text}" on ${ring.background}): ring ${ring.colours.join(' / ')} is ${best.toFixed(2)}:1`);
  }
  assert.equal(backgrounds.size, 3, `three backgrounds: ${[...backgrounds]}`);
  // The pay page's own ring, on its white sheet.
  const created = await user.call('POST', '/api/orders');
  const pay = await newPage(chromium.browser);
  await pay.goto(created.json.payment.pay_url);
  await pay.locator('#pay-form').waitFor();
  await pay.getByLabel('Card number').focus();
  await pay.keyboard.press('Tab');
  const ring = await ringOf(pay);
  const best = Math.max(...ring.colours.map((c) => contrast(c, ring.background)));
  assert.ok(best >= 3, `pay page ("${ring.text}" on ${ring.background}): ${best.toFixed(2)}:1`);
  noProblems(page);
  noProblems(pay);
  await page.context().close();
  await pay.context().close();
});

// WCAG 2.4.3: the console dropped the focus to the body when the control it was on went away.
test('the console keeps the keyboard\'s place when the control it was on goes away', async () => {
  const operator = await newPage(chromium.browser);
  await operator.goto(`${shop.url}/console`);
  await operator.getByLabel('Admin token').fill(shop.adminToken);
  await operator.getByLabel('Admin token').press('Enter');
  await operator.locator('#service-table tbody tr').first().waitFor();
  assert.deepEqual(await operator.evaluate(() => [document.activeElement.tagName, document.activeElement.textContent]),
    ['H1', 'Operator console'], 'after the token, the focus is on the console\'s heading');
  // Clear: the next row's Clear, then the one before when it was the last, then the heading.
  for (const id of ['web-a11y-c1', 'web-a11y-c2', 'web-a11y-c3']) {
    await admin(shop, 'POST', '/_admin/faults', {id, target: 'catalog', type: 'delay', delay_ms: 1,
      match: {method: 'GET', path: '/nothing-here'}});
  }
  try {
    await operator.locator('[data-fault="web-a11y-c3"]').waitFor({timeout: 5000});
    const focusedKey = () => operator.evaluate(() => document.activeElement.dataset?.key || document.activeElement.id || document.activeElement.tagName);
    await operator.getByRole('button', {name: 'Clear fault web-a11y-c1'}).focus();
    await operator.keyboard.press('Enter');
    await operator.locator('[data-fault="web-a11y-c1"]').waitFor({state: 'detached', timeout: 5000});
    assert.equal(await focusedKey(), 'clear:web-a11y-c2');
    await operator.getByRole('button', {name: 'Clear fault web-a11y-c3'}).focus();
    await operator.keyboard.press('Enter');
    await operator.locator('[data-fault="web-a11y-c3"]').waitFor({state: 'detached', timeout: 5000});
    assert.equal(await focusedKey(), 'clear:web-a11y-c2');
    // A poll redraws the table while the DELETE is under way (held 1.5 s here): the row's button
    // is a new element then, and the focus went to the body when the fault was gone (seen in CI).
    const slowDelete = (url) => url.pathname.startsWith('/_admin/faults/');
    await operator.route(slowDelete, async (route) => {
      if (route.request().method() === 'DELETE') await new Promise((done) => setTimeout(done, 1500));
      await route.continue();
    });
    await operator.keyboard.press('Enter');
    await operator.locator('[data-fault="web-a11y-c2"]').waitFor({state: 'detached', timeout: 5000});
    await operator.waitForTimeout(1500);  // a poll or two redraw the table
    assert.equal(await focusedKey(), 'faults-title');
    await operator.unroute(slowDelete);
  } finally {
    for (const id of ['web-a11y-c1', 'web-a11y-c2', 'web-a11y-c3']) await admin(shop, 'DELETE', `/_admin/faults/${id}`).catch(() => {});
  }
  // A service's stop, drawn again as start: the focus stays on that service's button.
  const power = operator.locator('#service-table [data-service="auth"] button').first();
  await power.focus();
  try {
    await operator.keyboard.press('Enter');
    await operator.locator('#service-table [data-service="auth"] button', {hasText: 'start'}).waitFor({timeout: 10000});
    await operator.waitForTimeout(300);
    assert.deepEqual(await operator.evaluate(() => [document.activeElement.closest('tr')?.dataset.service, document.activeElement.textContent]),
      ['auth', 'start']);
    await operator.keyboard.press('Enter');
    await operator.locator('#service-table [data-service="auth"] button', {hasText: 'stop'}).waitFor({timeout: 10000});
    await operator.waitForTimeout(300);
    assert.deepEqual(await operator.evaluate(() => [document.activeElement.closest('tr')?.dataset.service, document.activeElement.textContent]),
      ['auth', 'stop']);
  } finally {
    const services = await admin(shop, 'GET', '/_admin/services');
    if (!services.items.find((s) => s.name === 'auth').running) await admin(shop, 'POST', '/_admin/services/auth/start');
  }
  noProblems(operator);
  await operator.context().close();
});

// An outside probe, as an operator: a slow_body could not be given a jitter and always waited
// the delay fault's 2000 ms; refusals about a path, an edge or a long body marked no field; the
// maximum count (2^63-1) went as 2^63 and was refused as "not a whole number", and one added
// elsewhere showed rounded; a delay of 0 showed no parameters; a refused advance sat beside the
// last one's "Clock advanced".
test('the console\'s fault form takes what the admin plane takes, and ties each refusal to its field', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 1280, height: 1500}});
  await openConsole(operator);
  const form = operator.locator('#fault-form');
  const add = () => operator.getByRole('button', {name: 'Add fault'}).click();
  const faults = async () => (await admin(shop, 'GET', '/_admin/faults')).items;
  const before = (await faults()).length;
  await operator.getByLabel('Target service').selectOption('catalog');
  await operator.getByLabel('Path (target\'s own, glob)').fill('/web-nothing-here');

  await operator.getByLabel('Type').selectOption('slow_body');
  assert.equal(await operator.getByLabel('Delay (ms)').inputValue(), '', 'no delay unless typed');
  await operator.getByLabel('Jitter (ms)').fill('100');
  await operator.getByLabel('Id (optional)').fill('web-slow-jitter');
  await add();
  await operator.locator('[data-fault="web-slow-jitter"]').waitFor({timeout: 5000});
  const slow = (await faults()).find((f) => f.id === 'web-slow-jitter');
  assert.equal(slow.jitter_ms, 100);
  assert.ok(!slow.delay_ms, 'the head goes at once');

  const refused = async (fieldId, text) => {
    await add();
    await operator.locator('#fault-error').getByText(text).waitFor({timeout: 5000});
    assert.equal(await form.locator(`#${fieldId}`).getAttribute('aria-invalid'), 'true');
    assert.equal(await form.locator('[aria-invalid]').count(), 1);
  };
  await operator.getByLabel('Type').selectOption('hang');
  await operator.getByLabel('Path (target\'s own, glob)').fill('products');
  await refused('f-path', 'Path (target\'s own, glob): a match path is a path glob');
  await operator.getByLabel('Path (target\'s own, glob)').fill('/web-nothing-here');
  await operator.getByLabel('Target service').selectOption('auth');
  await operator.getByLabel('From (caller)').selectOption('order');
  await refused('f-from', 'From (caller): no edge order->auth');
  await operator.getByLabel('From (caller)').selectOption('');
  await operator.getByLabel('Target service').selectOption('catalog');
  await operator.getByLabel('Type').selectOption('abort');
  await operator.getByLabel('Body (optional JSON)').fill('x'.repeat(10001));
  await refused('f-body', 'Body (optional JSON) is longer than 10,000 characters');
  await operator.getByLabel('Body (optional JSON)').fill('');

  await operator.getByLabel('Type').selectOption('close');
  await operator.getByLabel('Which requests').selectOption('after');
  await operator.getByLabel('N or p').fill('9223372036854775807');
  await operator.getByLabel('Id (optional)').fill('web-after-max');
  await add();
  const row = operator.locator('[data-fault="web-after-max"]');
  await row.waitFor({timeout: 5000});
  assert.match(await row.textContent(), /after 9223372036854775807/);
  const listed = await (await fetch(`${shop.url}/_admin/faults`, {headers: {'X-Admin-Token': shop.adminToken}})).text();
  assert.match(listed, /"after":9223372036854775807\b/);
  await operator.getByLabel('Which requests').selectOption('');

  await operator.getByLabel('Type').selectOption('delay');
  await operator.getByLabel('Delay (ms)').fill('0');
  await operator.getByLabel('Jitter (ms)').fill('0');
  await operator.getByLabel('Id (optional)').fill('web-delay-zero');
  await add();
  await operator.locator('[data-fault="web-delay-zero"]', {hasText: 'delay 0 ms'}).waitFor({timeout: 5000});

  await operator.locator('#advance-by').fill('1s');
  await operator.locator('#clock-form').getByRole('button').click();
  await operator.locator('#status').getByText('Clock advanced by 1s').waitFor({timeout: 5000});
  await operator.locator('#advance-by').fill('soon');
  await operator.locator('#clock-form').getByRole('button').click();
  await operator.locator('#clock-error').getByText('Could not advance the clock').waitFor({timeout: 5000});
  assert.equal(await operator.locator('#status').textContent(), '', 'no "advanced" beside the refusal');

  // Every method the admin plane and `fault add --method` take: PUT, HEAD and OPTIONS were not
  // offered (an outside probe).
  const methods = await operator.getByLabel('Method').locator('option').allTextContents();
  assert.deepEqual(methods, ['any', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
  await operator.getByLabel('Method').selectOption('HEAD');
  await operator.getByLabel('Type').selectOption('reset');
  await operator.getByLabel('Id (optional)').fill('web-head');
  // Only the gateway sees a HEAD (it asks the services for a GET), as the admin plane says.
  await refused('f-method', 'HEAD never reaches catalog');
  await operator.getByLabel('Target service').selectOption('gateway');
  await add();
  await operator.locator('[data-fault="web-head"]').waitFor({timeout: 5000});
  assert.equal((await faults()).find((f) => f.id === 'web-head').match.method, 'HEAD');
  await operator.getByLabel('Method').selectOption('');

  for (const id of ['web-slow-jitter', 'web-after-max', 'web-delay-zero', 'web-head']) await admin(shop, 'DELETE', `/_admin/faults/${id}`);
  assert.equal((await faults()).length, before);
  noProblems(operator);
  await operator.context().close();
});

// The badge showed "0" for a cart it could not read (the order service down after a reload),
// telling a shopper with three items that the cart was empty (an outside probe).
test('the cart badge says "?" when the cart cannot be read, not 0', async () => {
  const alice = await apiShopper('Alice');
  await alice.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 3});
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/`);
  await logInOnPage(page, alice);
  await page.locator('#cart-count', {hasText: /^3$/}).waitFor({timeout: 5000});
  await page.route('**/api/cart', (route) => route.fulfill({status: 503, contentType: 'application/json',
    body: JSON.stringify({error: {code: 'service_unavailable', message: 'the order service is unavailable', details: {}}, trace_id: 't'})}));
  await page.reload();
  await page.locator('#cart-count', {hasText: /^\?$/}).waitFor({timeout: 5000});
  assert.match(await page.locator('#cart-count').getAttribute('title'), /could not be read/);
  await page.unroute('**/api/cart');
  await page.reload();
  await page.locator('#cart-count', {hasText: /^3$/}).waitFor({timeout: 5000});
  assert.equal(await page.locator('#cart-count').getAttribute('title'), null);
  noProblems(page);
  await page.context().close();
});

// WCAG 1.4.10: the console was 358 px wide at 320 px (the trace field's size="36").
test('the console fits a 320 px screen', async () => {
  const operator = await newPage(chromium.browser, {viewport: {width: 320, height: 640}});
  await openConsole(operator);
  const overflow = await operator.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  // Each table scrolls inside its card, and the keyboard can reach it to scroll it (WCAG 2.1.1;
  // the edges and faults tables held nothing focusable; an outside probe).
  const wraps = await operator.locator('.table-wrap').evaluateAll((nodes) => nodes.map((n) =>
    ({tabindex: n.getAttribute('tabindex'), label: n.getAttribute('aria-label'), role: n.getAttribute('role')})));
  assert.equal(wraps.length, 4);
  assert.ok(wraps.every((w) => w.tabindex === '0' && w.role === 'region' && /table/.test(w.label || '')), JSON.stringify(wraps));
  noProblems(operator);
  await operator.context().close();
});

// WCAG 2.2.2: the calls table changed every second with no way to hold it still.
test('the console\'s calls table can be paused and resumed', async () => {
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  await fetch(`${shop.url}/api/catalog/products?page_size=1`);
  await operator.locator('#call-table [data-test="call"]').first().waitFor({timeout: 5000});
  const pause = operator.getByRole('button', {name: 'Pause updates'});
  await pause.click();
  assert.equal(await operator.locator('#calls-pause').getAttribute('aria-pressed'), 'true');
  const held = await operator.locator('#call-table tbody').innerText();
  for (let i = 0; i < 3; i += 1) await fetch(`${shop.url}/api/catalog/products?page_size=${i + 2}`);
  await operator.waitForTimeout(2500);
  assert.equal(await operator.locator('#call-table tbody').innerText(), held, 'the table holds still while paused');
  await operator.getByRole('button', {name: 'Resume updates'}).click();
  assert.equal(await operator.locator('#calls-pause').getAttribute('aria-pressed'), 'false');
  await operator.waitForFunction((old) => document.querySelector('#call-table tbody').innerText !== old, held, {timeout: 5000});
  noProblems(operator);
  await operator.context().close();
});

// Every add to the cart answered 503 by the order service (an `abort` fault on its POST).
async function failingAdds(id) {
  await admin(shop, 'POST', '/_admin/faults', {id, target: 'order', from: 'gateway', type: 'abort', status: 503,
    match: {method: 'POST', path: '/cart/items'}});
}

// Where the focused control and the error alert are on screen, in the window's coordinates.
function focusAndAlert(page) {
  return page.evaluate(() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
    const active = document.activeElement;
    const alert = document.querySelector('#problem .notice');
    return {text: (active.textContent || '').trim(), tag: active.tagName, focused: box(active), alert: alert ? box(alert) : null};
  });
}

// WCAG 2.4.11: the alert stays at the bottom of the window until it is dismissed, and at
// 320 x 568 it hid the "Add to cart" buttons and "Next →" the keyboard moved to.
test('at 320 x 568 the error alert never hides the control the keyboard is on', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user, {viewport: {width: 320, height: 568}});
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  await failingAdds('web-a11y-obscured');
  try {
    await page.locator('[data-test="product"] button').first().focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-test="problem"]').getByText('Could not add it').waitFor({timeout: 5000});
    let seen = 0;
    for (let i = 0; i < 80; i += 1) {
      await page.keyboard.press('Tab');
      const at = await focusAndAlert(page);
      assert.ok(at.alert, 'the alert is still there');
      const overlap = Math.max(0, Math.min(at.focused.bottom, at.alert.bottom) - Math.max(at.focused.top, at.alert.top))
        * Math.max(0, Math.min(at.focused.right, at.alert.right) - Math.max(at.focused.left, at.alert.left));
      assert.equal(overlap, 0, `the focused ${at.tag} "${at.text}" is not under the alert (${JSON.stringify(at)})`);
      seen += 1;
      if (at.text === 'Next →') break;
    }
    assert.equal((await focusAndAlert(page)).text, 'Next →', `Tab reached "Next →" (${seen} steps)`);
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-a11y-obscured');
  }
  await screenshot(page, 'alert-320', {fullPage: false});
  noProblems(page);
  await page.context().close();
});

// WCAG 2.4.3 and 1.3.2: "Dismiss" dropped the focus to the body, and the alert came before the
// page's content in the DOM (and in Tab order) although it shows at the bottom.
test('Dismiss puts the focus back on the control that failed, and the alert comes after the content', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  assert.equal(await page.evaluate(() => Boolean(document.getElementById('main').compareDocumentPosition(
    document.getElementById('problem')) & Node.DOCUMENT_POSITION_FOLLOWING)), true, '#problem follows main');
  await failingAdds('web-a11y-dismiss');
  try {
    const add = page.locator('[data-test="product"] button').nth(1);
    await add.focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-test="problem"]').getByText('Could not add it').waitFor({timeout: 5000});
    await page.waitForFunction(() => !document.querySelectorAll('[data-test="product"] button')[1].disabled);
    await page.locator('[data-test="problem"]').getByRole('button', {name: 'Dismiss'}).focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-test="problem"]').waitFor({state: 'detached'});
    assert.equal(await page.evaluate(() => document.activeElement === document.querySelectorAll('[data-test="product"] button')[1]),
      true, 'the focus is back on the "Add to cart" that failed');
  } finally {
    await admin(shop, 'DELETE', '/_admin/faults/web-a11y-dismiss');
  }
  noProblems(page);
  await page.context().close();
});

// WCAG 2.5.3: the product cards' buttons showed "Add to cart" and were named "Add <product> to
// the cart", which a voice command "click Add to cart" did not find.
test('a product card\'s button is named with the words it shows', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  const buttons = await page.locator('[data-test="product"] button').evaluateAll((all) => all.map((b) => ({
    shown: b.textContent.trim(), name: b.getAttribute('aria-label') || b.textContent.trim(),
    product: b.closest('[data-test="product"]').querySelector('h3').textContent.trim()})));
  assert.ok(buttons.length > 0);
  for (const b of buttons) {
    assert.ok(b.name.toLowerCase().startsWith(b.shown.toLowerCase()), `"${b.name}" starts with "${b.shown}"`);
    assert.ok(b.name.includes(b.product), `"${b.name}" names ${b.product}`);
  }
  await page.getByRole('button', {name: `Add to cart: ${buttons[0].product}`, exact: true}).waitFor();
  noProblems(page);
  await page.context().close();
});

// WCAG 3.3.1 and 1.3.1: the errors were not tied to the fields they were about.
test('an error about a field marks that field and says which one', async () => {
  // An email already registered: the Email field is marked, described by the error, focused.
  const taken = await apiShopper();
  const page = await newPage(chromium.browser);
  await page.goto(`${shop.url}/#/register`);
  await page.getByLabel('Name').fill('Twice');
  await page.getByLabel('Email').fill(taken.email);
  await page.getByLabel(/^Password/).fill('correct-horse-battery');
  await page.getByRole('button', {name: 'Create account'}).click();
  await page.getByRole('alert').getByText('log in', {exact: true}).waitFor({timeout: 5000});
  const email = await page.evaluate(() => {
    const field = document.getElementById('email');
    const described = document.getElementById(field.getAttribute('aria-describedby') || '');
    return {invalid: field.getAttribute('aria-invalid'), described: described?.textContent || '', focused: document.activeElement === field};
  });
  assert.equal(email.invalid, 'true');
  assert.match(email.described, /with it instead/);
  assert.equal(email.focused, true, 'the focus is on the Email field');
  await page.getByLabel('Email').fill(`other-${taken.email}`);
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), null, 'a changed email is no longer marked');
  await page.context().close();

  // A quantity that is no whole number: its line's field is marked and the product named.
  const user = await apiShopper();
  await user.call('POST', '/api/cart/items', {product_id: 'p-001', quantity: 3});
  const cart = await signedInPage(user);
  await cart.goto(`${shop.url}/#/cart`);
  const field = cart.locator('[data-test="cart-line"] input.qty');
  await field.waitFor();
  const name = (await cart.locator('[data-test="cart-line"] .name').textContent()).trim();
  await field.fill('2.9');
  await field.press('Tab');
  const problem = cart.locator('[data-test="problem"]');
  await problem.getByText('whole number').waitFor({timeout: 5000});
  assert.ok((await problem.textContent()).includes(name), `the message names ${name}`);
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.equal(await cart.evaluate(() => document.getElementById(
    document.querySelector('[data-test="cart-line"] input.qty').getAttribute('aria-describedby'))?.textContent || ''),
  await cart.locator('#problem p').textContent());
  noProblems(cart);
  await cart.context().close();

  // The console's fault form: the admin plane's field name said as the field's label, the
  // field marked, and both gone after an add that succeeds.
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  await operator.getByLabel('Which requests').selectOption('probability');
  await operator.getByLabel('N or p').fill('2');
  await operator.getByRole('button', {name: 'Add fault'}).click();
  const faultError = operator.locator('#fault-error');
  await faultError.getByText('N or p must be between 0 and 1').waitFor({timeout: 5000});
  assert.equal(await operator.getByLabel('N or p').getAttribute('aria-invalid'), 'true');
  assert.equal(await operator.getByLabel('N or p').getAttribute('aria-describedby'), 'fault-error-text');
  await operator.getByLabel('Id (optional)').fill('web-a11y-fieldfix');
  await operator.getByLabel('N or p').evaluate((input) => { input.value = '0'; });  // no input event
  await operator.getByRole('button', {name: 'Add fault'}).click();
  await operator.locator('[data-fault="web-a11y-fieldfix"]').waitFor({timeout: 5000});
  assert.equal(await faultError.textContent(), '');
  assert.equal(await operator.getByLabel('N or p').getAttribute('aria-invalid'), null);
  await admin(shop, 'DELETE', '/_admin/faults/web-a11y-fieldfix');
  // A refused advance is an alert beside its field, marks it, and stays past the 4 s status line.
  await operator.getByLabel('Advance the shop clock by').fill('soon');
  await operator.getByRole('button', {name: 'Advance'}).click();
  const clockError = operator.locator('#clock-error');
  await clockError.getByText('Could not advance the clock').waitFor({timeout: 5000});
  assert.equal(await clockError.getAttribute('role'), 'alert');
  assert.equal(await operator.getByLabel('Advance the shop clock by').getAttribute('aria-invalid'), 'true');
  await operator.waitForTimeout(4500);
  assert.equal(await clockError.getByText('Could not advance the clock').isVisible(), true, 'still said 4.5 s later');
  noProblems(operator);
  await operator.context().close();
});

// WCAG 1.3.1: the list's h2 "Categories" came before its h1 and its products' h3s had no h2; the
// console had no h1 once open, and the faults' actions column no header text.
test('headings go h1, then h2, then h3, and every table header is named', async () => {
  const user = await apiShopper();
  const page = await signedInPage(user);
  await page.goto(`${shop.url}/#/`);
  await page.locator('[data-test="product"]').first().waitFor();
  const levels = await page.evaluate(() => [...document.querySelectorAll('main h1, main h2, main h3')].map((el) => Number(el.tagName[1])));
  assert.equal(levels[0], 1, `the first heading is the h1 (${levels})`);
  levels.forEach((level, i) => assert.ok(i === 0 || level <= levels[i - 1] + 1, `no level skipped (${levels})`));
  noProblems(page);
  await page.context().close();
  const operator = await newPage(chromium.browser);
  await openConsole(operator);
  assert.deepEqual(await operator.locator('h1:visible').allTextContents(), ['Operator console']);
  await operator.locator('#fault-table thead th').first().waitFor();
  const headers = await operator.locator('#fault-table thead th, #service-table thead th, #call-table thead th').allTextContents();
  assert.ok(headers.every((text) => text.trim() !== ''), JSON.stringify(headers));
  noProblems(operator);
  await operator.context().close();
});

// After Escape in the price dialog the focus went to the page's content, not to the cart's
// "Check out and pay" the shopper was on.
test('Escape in the price dialog puts the focus on "Check out and pay"', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-004', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.locator('[data-test="cart-line"]').first().waitFor();
  const before = await cartTotal(page);
  const cart = await (await fetch(`${shop.url}/api/cart`, {headers: {Authorization: `Bearer ${await shopperToken(page)}`}})).json();
  const price = cart.items[0].unit_price_cents;
  await setPrice(shop, 'p-004', price + 100);
  try {
    await page.getByRole('button', {name: 'Check out and pay'}).click();
    await page.getByRole('dialog', {name: 'Prices have changed'}).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', {name: 'Prices have changed'}).waitFor({state: 'hidden'});
    await page.waitForFunction((old) => document.querySelector('[data-test="cart-total"]')?.textContent.trim() !== old, before);
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.test), 'checkout');
  } finally {
    await setPrice(shop, 'p-004', price);
  }
  noProblems(page);
  await page.context().close();
});

// WCAG 2.2.1: the pay page went back to the shop 800 ms after saying the result. It waits for
// the shopper now, with the focus on its "Back to the shop" link, which still leaves the
// history (Back from the order page goes to the cart).
test('the pay page waits for the shopper after a decline, with the focus on the way back', async () => {
  const page = await newPage(chromium.browser);
  await registerShopper(page, shop);
  await addFromDetail(page, 'p-005', 1);
  await page.goto(`${shop.url}/#/cart`);
  await page.getByRole('button', {name: 'Check out and pay'}).click();
  await payWith(page, '4000000000000002');
  await page.getByRole('button', {name: 'Pay'}).click();
  await page.locator('#message').getByText('Payment declined (card_declined)').waitFor({timeout: 5000});
  await page.waitForTimeout(3000);
  assert.match(new URL(page.url()).pathname, /^\/pay\//, 'still on the pay page 3 s later');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Back to the shop');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/orders\//, {timeout: 10000});
  await waitForOrderStatus(page, 'FAILED');
  await page.goBack();
  await page.waitForURL(/#\/cart$/, {timeout: 5000});
  noProblems(page);
  await page.context().close();
});
