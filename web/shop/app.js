// The web shop: a single page on hash routes (#/, #/products/p-001, #/cart, #/orders/ord_...)
// that calls the gateway's public API, the same routes as any client. Text from the server is
// only ever put in the page with textContent (common/dom.js), never parsed as HTML.
import {h, append, replace, money, randomId, formatTime} from '/assets/common/dom.js';

// The script runs: the notice for a page whose script never started goes (index.html).
document.getElementById('boot-failed')?.remove();
const main = document.getElementById('main');
const flash = document.getElementById('flash');
const problem = document.getElementById('problem');
const priceDialog = document.getElementById('price-dialog');
const TOKEN_KEY = 'shopctl.token';
const EMAIL_KEY = 'shopctl.email';
const SIGNED_OUT_KEY = 'shopctl.signed_out';  // why the last session ended (for the other tabs)
const PAGE_SIZE = 12;
const POLL_MS = 1000;
const UNKNOWN_OUTCOME_RECHECK_MS = 3000;
const MAX_SEARCH_LENGTH = 200;  // the catalog's limit on q, in characters (docs/api.md)
const MAX_PAGE = 2147483647;  // the catalog's largest page number (docs/api.md); it refuses more
// Characters that reorder the text around them (embeddings, overrides, isolates, marks).
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

let pollTimer = null;
let renderCount = 0;

class ApiError extends Error {
  constructor(status, body, traceId) {
    const error = (body && body.error) || {};
    super(error.message || (status ? `the shop answered ${status}` : 'the shop could not be reached'));
    this.status = status;
    this.code = error.code || (status ? `http_${status}` : 'network_error');
    this.details = error.details || {};
    this.traceId = (body && body.trace_id) || traceId || null;
    this.retryAfter = null;
  }
}

// ---- session ------------------------------------------------------------------------------

function token() { return localStorage.getItem(TOKEN_KEY); }

// The session the page works for. Every answer belongs to the session it was asked in: one that
// arrives after that session ended (a logout, a login as someone else on this tab or in another,
// a new token) is dropped, with no navigation, dialog or message (a slow checkout's answer sent
// the next user of the tab to pay the previous user's order). api() checks each answer; what a
// page starts later (a timer, a dialog's button) checks `sessionLive` itself.
let sessionEpoch = 0;
function currentSession() { return {epoch: sessionEpoch, token: token()}; }
function sessionLive(session) { return session.epoch === sessionEpoch && session.token === token(); }
// What the page holds for the session that ended goes with it: the cart changes it waits for
// (their answers are dropped), a running checkout, the order page's poll, a dialog, a message,
// and the cart badge, which is read again for the user signed in now.
function sessionChanged() {
  sessionEpoch += 1;
  cartChanges.clear();
  checkoutRunning = false;
  clearTimeout(pollTimer);
  closeDialogs();
  clearTimeout(say.timer);
  replace(flash);
  clearProblem();
  document.getElementById('cart-count').textContent = '0';
  refreshCartCount();
}

// The email first: another tab that sees the token change (a storage event) reads it at once.
function signIn(accessToken, email) {
  localStorage.removeItem(SIGNED_OUT_KEY);
  localStorage.setItem(EMAIL_KEY, email);
  localStorage.setItem(TOKEN_KEY, accessToken);
  sessionChanged();
}

// `why` (the login page's reason: expired, signed_out, other_tab for the Log out button) is
// left for the other tabs, which learn of the logout from the token's storage event.
function signOut(why = 'other_tab') {
  localStorage.setItem(SIGNED_OUT_KEY, why);
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(EMAIL_KEY);
  sessionChanged();
}

// Sends the user to the login page; once logged in they come back to `next` (where they were).
// `unsaved`: the request the session ended on was a change (the gateway refused it, so the
// shop holds none of it), which the login page says, so that a quantity typed or a line
// removed as the session expired is not taken for done.
function goLogin(next, reason, unsaved = false) {
  const params = new URLSearchParams();
  if (next && !next.startsWith('/login') && !next.startsWith('/register')) params.set('next', next);
  if (reason) params.set('reason', reason);
  if (unsaved) params.set('unsaved', '1');
  const query = params.toString();
  location.replace(`#/login${query ? `?${query}` : ''}`);
}

// Each route names itself in the tab's title (and for a screen reader's tab list).
function setTitle(text) { document.title = text ? `${text} · shopctl shop` : 'shopctl shop'; }

function searchTooLong(text) { return [...text].length > MAX_SEARCH_LENGTH; }

function unreadableAnswer() {
  return new ApiError(200, {error: {code: 'unreadable_answer', message: 'the shop sent an answer the page cannot read'}}, null);
}

// The answer as the contract gives it, or the unreadable-answer error: a 2xx of another shape
// (a fault's {} or {"items": {}}) drew "SKU undefined", "€NaN" or script error text.
// `shape(answer)` says whether the fields the page reads are there.
function readable(answer, shape) {
  let fits = false;
  try { fits = Boolean(answer && typeof answer === 'object' && shape(answer)); } catch { fits = false; }
  if (!fits) throw unreadableAnswer();
  return answer;
}
const isText = (value) => typeof value === 'string';
// Counts and amounts of cents are safe integers: a float, 2^53 or 1e300 is not one the shop
// makes (a total of 1e300 products drew "Page 1 of 8.333333333333334e+298").
const isCount = (value) => Number.isSafeInteger(value) && value >= 0;
const isCents = (value) => Number.isSafeInteger(value) && value >= 0;
const isQuantity = (value) => Number.isSafeInteger(value) && value >= 1 && value <= 99;  // a cart line's
const isCurrency = (value) => isText(value) && /^[A-Z]{3}$/.test(value);
const ORDER_STATUSES = ['PAYMENT_PENDING', 'PAID', 'FAILED'];  // docs/api.md; any other is no state the page knows
const isOrderStatus = (value) => ORDER_STATUSES.includes(value);
const isList = (value, each) => Array.isArray(value) && value.every((item) => item && typeof item === 'object' && each(item));
// Each shape covers every field its pages read: a line without its name or unit price drew an
// empty link, "€NaN" and "Remove undefined"; an order without items an empty table, and one of
// an unknown status "Waiting for the payment result".
const productShape = (p) => isText(p.id) && isText(p.sku) && isText(p.name) && isText(p.description)
  && isText(p.category) && isCents(p.price_cents) && isCurrency(p.currency) && typeof p.available === 'boolean';
const lineShape = (line) => isText(line.product_id) && isText(line.name) && isQuantity(line.quantity)
  && isCents(line.unit_price_cents) && isCents(line.line_total_cents);
// An empty cart's currency is null (docs/api.md).
const cartShape = (cart) => isCents(cart.total_cents) && isList(cart.items, lineShape)
  && (isCurrency(cart.currency) || (cart.currency === null && cart.items.length === 0));
const historyShape = (entry) => isOrderStatus(entry.status) && isText(entry.at) && (entry.reason === null || isText(entry.reason));
const paymentShape = (payment) => payment === null
  || (typeof payment === 'object' && (payment.pay_url === null || isText(payment.pay_url)));
const orderShape = (order) => isText(order.order_id) && isOrderStatus(order.status) && isCents(order.total_cents)
  && isCurrency(order.currency) && isText(order.created_at) && isList(order.items, lineShape) && order.items.length > 0
  && isList(order.history, historyShape) && paymentShape(order.payment);
const ordersShape = (orders) => isList(orders.items, orderShape);
const categoriesShape = (categories) => isList(categories.items, (c) => isText(c.id) && isText(c.name) && isCount(c.product_count));
// The page counts its pages from these: a page size the catalog does not give (1 to 100), or more
// pages than the catalog numbers (MAX_PAGE), is no answer the page can draw.
const productsShape = (products) => isCount(products.total) && isCount(products.page_size)
  && products.page_size > 0 && products.page_size <= 100 && Math.ceil(products.total / products.page_size) <= MAX_PAGE
  && isList(products.items, productShape);
// A 409 price_changed's change: its prices are in the dialog.
const priceChangeShape = (change) => isText(change.product_id) && isCents(change.old_price_cents)
  && isCents(change.new_price_cents);

function currentRoute() { return location.hash.slice(1) || '/'; }

// ---- the API ------------------------------------------------------------------------------

// An answer of a session that has ended never settles: nothing after the `await` runs, neither
// the success path nor a catch (which would say the error, or go on as if the call had failed).
function dropped() { return new Promise(() => {}); }

// `change`: the request is part of a change the shopper made (a checkout's read of the cart
// before it orders): a session that ends on it says the change was not saved, as one that
// ends on the change's own request does.
async function api(method, path, body, extraHeaders = {}, {change = method !== 'GET' && method !== 'HEAD'} = {}) {
  const session = currentSession();
  const headers = {Accept: 'application/json', ...extraHeaders};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch {
    if (!sessionLive(session)) return dropped();
    // The browser says it has no network: the shopper's connection, not the shop, is the
    // trouble (it said "the shop is having trouble right now"; an outside probe).
    if (navigator.onLine === false) {
      throw new ApiError(0, {error: {code: 'offline', message: 'this device is offline'}}, null);
    }
    throw new ApiError(0, null, null);
  }
  let data = null;
  let readable = true;
  try { data = await response.json(); } catch { data = null; readable = false; }
  // Before anything else: a 401 of the previous user's token must not sign the next one out.
  if (!sessionLive(session)) return dropped();
  if (response.ok && (!readable || data === null || typeof data !== 'object') && response.status !== 204) {
    // A 2xx whose body is not the JSON object the contract gives (a proxy's page, a fault):
    // say so plainly instead of failing later on a missing field.
    throw new ApiError(response.status, {error: {code: 'unreadable_answer',
      message: 'the shop sent an answer the page cannot read'}}, response.headers.get('X-Trace-Id'));
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get('X-Trace-Id'));
    error.retryAfter = response.headers.get('Retry-After');
    if (response.status === 401 && !path.startsWith('/api/auth/')) {
      // An expired or refused token: log in again, then come back here.
      const why = error.code === 'token_expired' ? 'expired' : 'signed_out';
      signOut(why);
      goLogin(currentRoute(), why, change);
      error.redirected = true;
    }
    throw error;
  }
  return data;
}

// ---- shared pieces ------------------------------------------------------------------------

// A short message, in the polite status line for 2.5 s. sayFailed(what, error) says why `what`
// failed, unless the failure already sent the user to the login page (a 401), which says why
// itself: an error is an alert (#problem, announced at once) and stays until the shopper
// dismisses it, goes to another page, or something else is said (it was a 2.5 s flash in the
// polite status line, gone before it was read).
function say(text) {
  clearProblem();
  replace(flash, h('p', {}, text));
  clearTimeout(say.timer);
  say.timer = setTimeout(() => replace(flash), 2500);
}
// `from`: the control whose action failed (a button disabled while its request ran has lost the
// focus by then). `field`: the control the error is about, marked aria-invalid and described by the message
// until the message goes. "Dismiss" puts the focus back on the control that had it when the
// error came (the control that caused it), or on the page's content: it fell to the body.
let problemFrom = null;
let problemField = null;
function sayProblem(text, {field = null, from = null} = {}) {
  clearTimeout(say.timer);
  replace(flash);
  clearProblem();
  const active = document.activeElement;
  problemFrom = from || field || (active && active !== document.body && main.contains(active) ? active : null);
  const dismiss = h('button', {type: 'button', class: 'small secondary', on: {click: () => {
    const back = problemFrom;
    clearProblem();
    if (back && back.isConnected && !back.disabled) back.focus();
    else main.focus();
  }}}, 'Dismiss');
  replace(problem, h('div', {class: 'notice error', 'data-test': 'problem'}, h('p', {id: 'problem-text'}, text), dismiss));
  keepRoomForProblem();
  if (field) {
    problemField = field;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', 'problem-text');
  }
}
function clearProblem() {
  replace(problem);
  keepRoomForProblem();
  if (problemField) {
    problemField.removeAttribute('aria-invalid');
    problemField.removeAttribute('aria-describedby');
    problemField = null;
  }
}
// The alert stays at the bottom of the window until dismissed: the page keeps room for it
// below its content and scrolls a focused control clear of it (html's scroll-padding-bottom),
// so that it never hides the control the keyboard is on (at 320 x 568 it covered "Add to cart"
// and "Next →").
// Kept at once when the alert is drawn or cleared, and by the observer when it changes size: the
// observer alone runs a frame later, and a Tab pressed before it scrolled the next control under
// the alert (seen in CI, on a busy machine).
function keepRoomForProblem() {
  const space = problem.childElementCount ? problem.getBoundingClientRect().height + 24 : 0;
  document.documentElement.style.setProperty('--problem-space', `${Math.ceil(space)}px`);
}
new ResizeObserver(keepRoomForProblem).observe(problem);

// A button enabled again after its request: disabling it had dropped the focus to the page
// (a keyboard or screen reader user's place lost after "Add to cart" or a refused "Create
// account"), so it takes the focus back when nothing else has it.
function enable(button) {
  button.disabled = false;
  if (button.isConnected && (document.activeElement === document.body || document.activeElement === null)) button.focus();
}

// A dialog belongs to the page and the session it was opened for: a route change or a new
// session closes it without its own close action (the price dialog's closing draws the cart
// again). One left open over the next page offered a button that did nothing there.
function closeDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) {
    dialog.onclose = null;
    dialog.close();
  }
}
// A failure of the shop's (no answer, a 5xx) is said in the shopper's words, its code kept for
// support: "the order service is unavailable (connection_refused)" was the API's wording (an
// outside probe). `error.note`, when set, says what the failure means here.
function sayFailed(what, error, from = null) {
  if (error.redirected) return;
  const unavailable = error.status === 0 || error.status >= 500;
  const offline = error.code === 'offline';
  const why = offline ? 'this device is offline (no network connection)'
    : unavailable ? `the shop is having trouble right now (${error.code})` : error.message;
  const next = error.note || (offline ? 'Connect to a network and try again.'
    : unavailable ? 'Please try again in a moment.' : '');
  sayProblem(`${what}: ${why}.${next ? ` ${next}` : ''}`.replace(/\.\./g, '.'), {from});
}

// Whether a cart change that failed may have been made all the same: no answer, or a 5xx other
// than the gateway's refused connection (the request never reached the order service). A 504
// came when the order service had not answered within the gateway's time, and it made the
// change two seconds later (an outside probe: the page said "Could not change it" and showed
// the old quantity, and the next checkout found the cart "changed in another tab").
function changeOutcomeUnknown(error) {
  if (error.redirected || (error.status > 0 && error.status < 500)) return false;
  return !(error.code === 'service_unavailable' && /\((connection_refused|host_unreachable)\)/.test(error.message));
}

// What a shopper sees when something failed: a 5xx or no answer is the shop's fault, said
// kindly, with a retry and the trace id (which opens the operator console on that request).
// `lead` says what the failure means for the shopper; the default claims nothing about money
// or the cart, which only the caller knows (a checkout whose outcome is unknown must not say
// "nothing was charged").
function errorNotice(error, retry, lead = null) {
  if (error.redirected) return h('p', {class: 'muted'}, 'Taking you to the login page…');
  const unavailable = error.status === 0 || error.status >= 500;
  const notice = h('div', {class: 'notice error', role: 'alert', 'data-test': 'error'});
  if (error.code === 'unreadable_answer') {
    notice.append(
      h('h2', {}, 'Sorry, the shop sent an answer this page cannot read'),
      h('p', {}, lead || 'Please try again in a moment.'),
      h('p', {class: 'muted'}, `(${error.code}, HTTP ${error.status})`));
  } else if (error.code === 'offline') {
    notice.append(
      h('h2', {}, 'You are offline'),
      h('p', {}, lead || 'This device has no network connection. Connect to a network and try again.'),
      h('p', {class: 'muted'}, '(offline)'));
  } else if (unavailable) {
    notice.append(
      h('h2', {}, 'Sorry, the shop is having trouble right now'),
      h('p', {}, lead || 'Please try again in a moment.'),
      // The shop's message is written for API clients ("check out again with a new
      // Idempotency-Key"): kept for support, folded away from the shopper.
      h('details', {class: 'muted', 'data-test': 'error-details'}, h('summary', {}, `(${error.code})`),
        h('p', {}, error.message)));
  } else {
    // append() of dom.js skips the null of no lead; the DOM's own append wrote it as "null".
    append(notice, [h('p', {}, inShopWords(error)), lead ? h('p', {}, lead) : null, h('p', {class: 'muted'}, `(${error.code})`)]);
  }
  const row = h('div', {class: 'row'});
  if (retry) row.append(h('button', {type: 'button', 'data-test': 'retry', on: {click: retry}}, 'Try again'));
  notice.append(row);
  if (error.traceId) notice.append(traceLine(error.traceId));
  return notice;
}

// The shop's own sentence for an answer whose message quotes what the link said: the catalog's
// 404 says "no product with id '<the link's id>'", and a link whose id was a sentence ("x'. Your
// account is locked: call ...") showed it in the shop's red box, in the shop's voice (an
// outside probe). Other messages are the shop's own words and are shown as they are.
const OWN_WORDS = {
  product_not_found: 'There is no such product in the shop: the link may be wrong, or the product was removed.',
};
function inShopWords(error) {
  return Object.hasOwn(OWN_WORDS, error.code) ? OWN_WORDS[error.code] : error.message;
}

function traceLine(traceId) {
  return h('p', {class: 'trace'}, 'Trace id: ',
    h('a', {class: 'mono', 'data-test': 'trace-id', href: `/console#trace=${encodeURIComponent(traceId)}`}, traceId),
    h('span', {class: 'muted'}, ' (give this to support; it opens the request in the operator console)'));
}

// An ISO time (or milliseconds) from the API, in the reader's words.
function when(at) {
  if (at === null || at === undefined) return '';
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isNaN(ms) ? String(at) : formatTime(ms);
}

function statusBadge(status) {
  const kind = status === 'PAID' ? 'ok' : status === 'FAILED' ? 'bad' : 'warn';
  return h('span', {class: `badge ${kind}`, 'data-test': 'order-status'}, status);
}

function setCartCount(cart) {
  const count = cart.items.reduce((sum, line) => sum + line.quantity, 0);
  const badge = document.getElementById('cart-count');
  badge.textContent = String(count);
  badge.removeAttribute('title');
}

async function refreshCartCount() {
  if (!token()) return;
  try {
    setCartCount(readable(await api('GET', '/api/cart'), cartShape));
  } catch {
    // The count is a nicety, but not a false one: a cart that could not be read is not "0"
    // (a shopper with three items was shown an empty cart while the order service was down;
    // an outside probe). The cart page says what went wrong.
    const badge = document.getElementById('cart-count');
    badge.textContent = '?';
    badge.title = 'The cart could not be read just now';
  }
}

function updateNav(path) {
  const nav = document.getElementById('nav');
  nav.hidden = !token();
  document.getElementById('who').textContent = localStorage.getItem(EMAIL_KEY) || '';
  const section = path.startsWith('/cart') ? 'cart' : path.startsWith('/orders') ? 'orders' : 'shop';
  for (const link of nav.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// The cart changes this tab has sent and not yet seen answered (an add from any page, a
// quantity, a removal). A checkout waits for them: one sent while a quantity's PATCH was still
// on its way checked out the old quantity.
const cartChanges = new Set();
// A checkout is waiting for them: the cart page is not drawn again when they are answered (the
// checkout goes on with what they answered).
let checkoutRunning = false;
function trackCartChange(request) {
  cartChanges.add(request);
  const settled = () => cartChanges.delete(request);
  request.then(settled, settled);
  return request;
}
async function cartChangesSettled() {
  while (cartChanges.size) await Promise.allSettled([...cartChanges]);
}

async function addToCart(productId, quantity) {
  try {
    await trackCartChange(api('POST', '/api/cart/items', {product_id: productId, quantity}));
  } catch (error) {
    if (changeOutcomeUnknown(error)) {
      // It may be in the cart (an add that timed out was made, and "Add to cart" again made
      // two): said so, and the badge is read again once the order service has had time.
      error.note = 'It may have been added all the same: look at your cart before adding it again.';
      setTimeout(refreshCartCount, UNKNOWN_OUTCOME_RECHECK_MS);
    }
    throw error;
  }
  say('Added to your cart');
  refreshCartCount();
}

// A line's quantity changes go to the cart one after another, the last one typed last: two sent
// at once, the slower one landed last and the cart kept the quantity typed first (an outside
// probe typed 3 then 5, and the cart held 3). By product id: `want` is the latest quantity
// typed; `write` the changes in flight.
const lineWrites = new Map();
function writeQuantity(productId, quantity) {
  let state = lineWrites.get(productId);
  if (!state) lineWrites.set(productId, state = {want: quantity, write: null});
  state.want = quantity;
  if (state.write) return state.write;  // it sends `want` when the change in flight is answered
  state.write = (async () => {
    try {
      for (;;) {
        const sent = state.want;
        await api('PATCH', `/api/cart/items/${encodeURIComponent(productId)}`, {quantity: sent});
        if (state.want === sent) return;
      }
    } finally {
      state.write = null;
    }
  })();
  return trackCartChange(state.write);
}

// ---- pages --------------------------------------------------------------------------------

function loginPage(params) {
  const next = params.get('next') || '/';
  const reason = params.get('reason');
  const message = h('div');
  const email = h('input', {id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true});
  const password = h('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit'}, 'Log in');
  const form = h('form', {class: 'card auth', 'aria-labelledby': 'login-title'},
    h('h1', {id: 'login-title'}, 'Log in'),
    reason === 'expired' ? h('p', {class: 'notice warn'}, 'Your session has expired. Please log in again.')
      : reason === 'signed_out' ? h('p', {class: 'notice warn'}, 'You were signed out: the shop no longer accepts your session. Please log in again.')
        : reason === 'other_tab' ? h('p', {class: 'notice warn', 'data-test': 'signed-out-elsewhere'}, 'You signed out in another tab. Please log in again.')
          : null,
    params.get('unsaved') === '1' && reason
      ? h('p', {class: 'notice warn', 'data-test': 'unsaved-change'},
        'Your last change was not saved. Check it once you are back.')
      : null,
    message,
    h('div', {class: 'field'}, h('label', {for: 'email'}, 'Email'), email),
    h('div', {class: 'field'}, h('label', {for: 'password'}, 'Password'), password),
    h('div', {class: 'row'}, submit,
      h('a', {href: `#/register?next=${encodeURIComponent(next)}`}, 'New here? Create an account')),
    h('p', {class: 'muted'}, 'Demo account: demo@shop.test / demo-password-1'));
  form.addEventListener('invalid', () => replace(message), true);  // as on the register page
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;  // one request at a time (a double click, Enter twice)
    submit.disabled = true;
    try {
      const answer = readable(await api('POST', '/api/auth/login', {email: email.value, password: password.value}),
        (a) => isText(a.access_token));
      signIn(answer.access_token, email.value.trim().toLowerCase());
      location.replace(`#${next}`);
    } catch (error) {
      replace(message, error.status === 401
        ? h('p', {class: 'notice error', role: 'alert'}, 'Wrong email or password.')
        : errorNotice(error));
      enable(submit);
    }
  });
  setTitle('Log in');
  drawPage(form);
  email.focus();
}

function registerPage(params) {
  const next = params.get('next') || '/';
  const message = h('div');
  const name = h('input', {id: 'name', name: 'name', autocomplete: 'name', required: true, maxlength: 200});
  const email = h('input', {id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true});
  const password = h('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'new-password',
    required: true, minlength: 8});
  const submit = h('button', {type: 'submit'}, 'Create account');
  const form = h('form', {class: 'card auth', 'aria-labelledby': 'register-title'},
    h('h1', {id: 'register-title'}, 'Create an account'),
    message,
    h('div', {class: 'field'}, h('label', {for: 'name'}, 'Name'), name),
    h('div', {class: 'field'}, h('label', {for: 'email'}, 'Email'), email),
    h('div', {class: 'field'}, h('label', {for: 'password'}, 'Password (8 characters or more)'), password),
    h('div', {class: 'row'}, submit,
      h('a', {href: `#/login?next=${encodeURIComponent(next)}`}, 'Already registered? Log in')));
  const loginLink = () => h('a', {href: `#/login?next=${encodeURIComponent(next)}`}, 'log in');
  // The account this page made, when the login right after it failed (no answer, a 5xx): the
  // next click logs in with it instead of registering again, which said "an account with that
  // email exists" and left the shopper on this page.
  let created = null;
  const logIn = async () => {
    const answer = readable(await api('POST', '/api/auth/login', {email: email.value, password: password.value}),
      (a) => isText(a.access_token));
    signIn(answer.access_token, email.value.trim().toLowerCase());
    location.replace(`#${next}`);
  };
  // A submit the browser's own check stops (too short, no email) shows the browser's reason:
  // the page's message from the last submit no longer applies ("too easy to guess" stayed
  // beside the browser's "too short").
  form.addEventListener('invalid', () => replace(message), true);
  email.addEventListener('input', () => {
    email.removeAttribute('aria-invalid');
    email.removeAttribute('aria-describedby');
  });
  form.addEventListener('input', () => {
    const made = created && created.email === email.value && created.password === password.value;
    submit.textContent = made ? 'Log in' : 'Create account';
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    // One registration at a time: a double click registered twice, and the second's 409 was
    // said as an error although the account was made.
    if (submit.disabled) return;
    submit.disabled = true;
    const made = created && created.email === email.value && created.password === password.value;
    if (!made) {
      try {
        await api('POST', '/api/auth/register', {name: name.value, email: email.value, password: password.value});
      } catch (error) {
        // An email already registered is about the Email field: marked, described by the message,
        // and focused, so the shopper is on the field to change.
        if (error.code === 'email_taken') {
          email.setAttribute('aria-invalid', 'true');
          email.setAttribute('aria-describedby', 'register-error');
        }
        replace(message, error.code === 'email_taken'
          ? h('p', {class: 'notice error', role: 'alert', id: 'register-error'}, `${error.message}: `, loginLink(), ' with it instead.')
          : error.status >= 400 && error.status < 500
            ? h('p', {class: 'notice error', role: 'alert'}, error.message)
            : errorNotice(error));
        if (error.code === 'email_taken') email.focus();
        else enable(submit);
        submit.disabled = false;
        return;
      }
      created = {email: email.value, password: password.value};
    }
    try {
      await logIn();
    } catch (error) {
      submit.textContent = 'Log in';
      replace(message, h('div', {class: 'notice warn', role: 'alert', 'data-test': 'registered-not-signed-in'},
        h('p', {}, 'Your account is created, but logging you in failed. Click “Log in” to try again, or ', loginLink(), ' on the login page.'),
        h('p', {class: 'muted'}, `(${error.code}: ${error.message})`)));
      enable(submit);
    }
  });
  setTitle('Create an account');
  drawPage(form);
  name.focus();
}

function productCard(product) {
  const link = `#/products/${encodeURIComponent(product.id)}`;
  // The name starts with the words shown (WCAG 2.5.3: "Add to cart" said by voice finds it).
  const add = h('button', {type: 'button', class: 'small', disabled: !product.available,
    'aria-label': `${product.available ? 'Add to cart' : 'Unavailable'}: ${product.name}`});
  add.textContent = product.available ? 'Add to cart' : 'Unavailable';
  add.addEventListener('click', async () => {
    add.disabled = true;
    try { await addToCart(product.id, 1); } catch (error) { sayFailed('Could not add it', error, add); }
    enable(add);
  });
  return h('li', {},
    h('article', {class: 'card product', 'data-test': 'product', 'data-product-id': product.id},
      h('span', {class: 'category-tag'}, product.category),
      h('h3', {}, h('a', {href: link}, product.name)),
      h('p', {class: 'muted'}, product.description),
      h('div', {class: 'price'}, money(product.price_cents, product.currency)),
      h('div', {class: 'actions'}, add, product.available ? null : h('span', {class: 'badge bad'}, 'Out of stock'))));
}

async function browsePage(params) {
  const category = params.get('category') || '';
  // A search longer than the catalog takes (an edited link: the box itself stops at the limit)
  // is not sent, which would answer 400 and replace the page; it is said beside the list.
  const asked = params.get('q') || '';
  const tooLong = searchTooLong(asked);
  const q = tooLong ? '' : asked;
  // A page past the catalog's largest is asked as its largest (a 400 replaced the page), which is
  // past the last page, so the last one is shown (below).
  const page = Math.min(MAX_PAGE, Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1));
  const query = new URLSearchParams({page: String(page), page_size: String(PAGE_SIZE)});
  if (category) query.set('category', category);
  if (q) query.set('q', q);
  const mine = renderCount;
  setTitle('Products');
  const [categories, products] = await Promise.all([
    api('GET', '/api/catalog/categories').then((answer) => readable(answer, categoriesShape)),
    api('GET', `/api/catalog/products?${query}`).then((answer) => readable(answer, productsShape)),
  ]);
  if (mine !== renderCount) return;  // the user went elsewhere meanwhile
  const link = (changes) => {
    const next = new URLSearchParams({...(category ? {category} : {}), ...(q ? {q} : {}), ...changes});
    for (const [key, value] of [...next]) if (!value) next.delete(key);
    const text = next.toString();
    return `#/${text ? `?${text}` : ''}`;
  };
  const categoryList = h('ul', {},
    h('li', {}, h('a', {href: link({category: '', page: ''}), 'aria-current': category ? 'false' : 'true'}, 'All products')),
    categories.items.map((c) => h('li', {},
      h('a', {href: link({category: c.id, page: ''}), 'aria-current': c.id === category ? 'true' : 'false'},
        h('span', {}, c.name), h('span', {class: 'muted'}, c.product_count)))));
  const search = h('input', {type: 'search', name: 'q', value: asked, placeholder: 'Search products',
    'aria-label': 'Search products', maxlength: MAX_SEARCH_LENGTH});
  const searchMessage = h('div');
  const form = h('form', {class: 'search', role: 'search'}, search, h('button', {type: 'submit'}, 'Search'));
  const sayTooLong = (text) => replace(searchMessage, h('p', {class: 'notice error', role: 'alert', 'data-test': 'search-too-long'},
    `A search can be at most ${MAX_SEARCH_LENGTH} characters; this one has ${[...text].length}. Shorten it and search again.`));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = search.value.trim();
    if (searchTooLong(text)) { sayTooLong(text); return; }
    location.hash = link({q: text, page: ''});
  });
  if (tooLong) sayTooLong(asked);
  const pages = Math.max(1, Math.ceil(products.total / products.page_size));
  if (page > pages) {  // past the last page (an old link, a typed number): show the last one
    location.replace(link({page: pages > 1 ? String(pages) : ''}));
    return;
  }
  // A category the shop does not have is said to be unknown, not named by the link's text: any
  // text a link carried was the page's heading and title in the shop's own style (an outside
  // probe: "SECURITY NOTICE: your account is locked. Call support at ...").
  const known = category ? categories.items.find((c) => c.id === category) : null;
  const title = category ? (known ? known.name : 'Unknown category') : 'All products';
  // The search as the link wrote it, without the characters that reorder text: a U+202E in
  // `q` drew the shop's own closing quote, and the title's " · shopctl shop", reversed (an
  // outside probe). The search itself still sends what was typed.
  const shownQ = q.replace(BIDI_CONTROLS, '');
  setTitle(q ? `${title}: “${shownQ}”` : title);
  // The page's h1 comes first, then the categories' h2 and the list's h2 over its products'
  // h3s (the categories' h2 came before the h1, and the h3s had no h2).
  drawPage(h('h1', {id: 'list-title'}, q ? `${title}: “${shownQ}”` : title), h('div', {class: 'browse'},
    h('nav', {class: 'card categories', 'aria-label': 'Categories'}, h('h2', {}, 'Categories'), categoryList),
    h('section', {'aria-labelledby': 'list-title'},
      form,
      searchMessage,
      h('h2', {class: 'visually-hidden'}, 'Products'),
      h('p', {class: 'muted'}, `${products.total} product${products.total === 1 ? '' : 's'}`),
      products.items.length
        ? h('ul', {class: 'products'}, products.items.map(productCard))
        : category && !known
          ? h('p', {class: 'card', 'data-test': 'unknown-category'},
              'This link names a category the shop does not have. ',
              h('a', {href: '#/'}, 'See all products'))
          : h('p', {class: 'card'}, 'No products match.'),
      h('nav', {class: 'pager', 'aria-label': 'Pages'},
        page > 1 ? h('a', {class: 'btn secondary', href: link({page: String(page - 1)}), rel: 'prev'}, '← Previous') : null,
        h('span', {'data-test': 'page'}, `Page ${page} of ${pages}`),
        page < pages ? h('a', {class: 'btn secondary', href: link({page: String(page + 1)}), rel: 'next'}, 'Next →') : null))));
}

async function productPage(id) {
  const mine = renderCount;
  setTitle('Product');
  const product = readable(await api('GET', `/api/catalog/products/${encodeURIComponent(id)}`), productShape);
  if (mine !== renderCount) return;
  setTitle(product.name);
  const quantity = h('input', {id: 'quantity', class: 'qty', type: 'number', min: 1, max: 99, step: 1, value: 1});
  const add = h('button', {type: 'submit', disabled: !product.available}, product.available ? 'Add to cart' : 'Unavailable');
  const form = h('form', {class: 'card'},
    h('div', {class: 'price'}, money(product.price_cents, product.currency)),
    product.available ? h('p', {class: 'badge ok'}, 'In stock') : h('p', {class: 'badge bad'}, 'Out of stock'),
    h('div', {class: 'field'}, h('label', {for: 'quantity'}, 'Quantity'), quantity),
    h('div', {class: 'row'}, add, h('a', {class: 'btn secondary', href: '#/cart'}, 'Go to cart')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const n = wholeQuantity(quantity.value, 1);
    if (n === null) { sayProblem('Choose a quantity from 1 to 99, a whole number', {field: quantity}); return; }
    add.disabled = true;
    try { await addToCart(product.id, n); } catch (error) { sayFailed('Could not add it', error, add); }
    enable(add);
  });
  drawPage(
    h('p', {}, h('a', {href: `#/?category=${encodeURIComponent(product.category)}`}, '← Back to the list')),
    h('div', {class: 'detail'},
      h('section', {class: 'card', 'data-test': 'product-detail', 'data-product-id': product.id},
        h('span', {class: 'category-tag'}, product.category),
        h('h1', {}, product.name),
        h('p', {}, product.description),
        h('p', {class: 'muted'}, `SKU ${product.sku}`)),
      form));
}

async function cartPage() {
  const mine = renderCount;
  setTitle('Your cart');
  // An add still on its way (a slow "Add to cart", then the Cart link at once) is not in the
  // cart this read answers: the page is drawn again once the add is answered.
  const addsPending = cartChanges.size > 0;
  const [cart, waiting] = await Promise.all([
    api('GET', '/api/cart').then((answer) => readable(answer, cartShape)),
    ordersWaitingForPayment(),
  ]);
  if (mine !== renderCount) return;
  if (addsPending || cartChanges.size > 0) {
    cartChangesSettled().then(() => { if (mine === renderCount && !checkoutRunning) render({refresh: true}); });
  }
  setTitle('Your cart');
  setCartCount(cart);
  if (!cart.items.length) {
    // A checkout of this tab whose outcome is unknown (a reload while it was on its way) may
    // have placed an order that emptied the cart: its kept key picks that order up.
    const kept = pendingCheckoutKey(token());
    let pickUp = null;
    if (kept) {
      const area = h('div');
      const button = h('button', {type: 'button', 'data-test': 'checkout'}, 'Go on to pay it');
      const attempt = {key: kept, user: token(), session: currentSession(), generation: mine, lines: h('div'), rows: new Map()};
      button.addEventListener('click', () => checkout(button, area, cart, attempt));
      pickUp = h('div', {class: 'notice warn', 'data-test': 'pending-checkout'},
        h('p', {}, 'A checkout from this tab may have placed your order.'), h('div', {class: 'row'}, button), area);
    }
    // A checkout that found the cart emptied (another tab checked it out) drew this page: say
    // so here, and only here (the note was left for a later, unrelated visit of the cart).
    const changed = takeCartChangedNotice(mine);
    drawPage(h('h1', {}, 'Your cart'),
      changed ? h('div', {class: 'notice warn', role: 'alert', 'data-test': 'cart-changed'}, h('p', {}, changed),
        h('p', {}, 'If another tab checked it out, the order is in ', h('a', {href: '#/orders'}, 'your orders'), '.'))
        : null,
      pickUp,
      waitingNotice(waiting),
      h('div', {class: 'card'}, h('p', {}, 'Your cart is empty.'), h('a', {class: 'btn', href: '#/'}, 'Browse the shop')));
    return;
  }
  const checkoutArea = h('div');
  const checkoutButton = h('button', {type: 'button', 'data-test': 'checkout'}, 'Check out and pay');
  // The checkout's key, and who the cart drawn here belongs to (see checkout()).
  // `shown`: each line's quantity and unit price as the page shows them (a quantity typed or a
  // line removed counts once sent), which the checkout compares with the cart before ordering.
  const attempt = {key: pendingCheckoutKey(token()), user: token(), session: currentSession(), generation: mine,
    lines: null, rows: new Map(),
    shown: new Map(cart.items.map((line) => [line.product_id, {quantity: line.quantity, price: line.unit_price_cents}]))};
  checkoutButton.addEventListener('click', () => checkout(checkoutButton, checkoutArea, cart, attempt));
  const redraw = () => { if (!checkoutRunning) render({refresh: true}); };
  // A change whose outcome is unknown (no answer, a 504): said so, and the cart is read again
  // once the order service has had time, to show what it holds (unless the page moved on).
  const recheckUnknown = (title, maybe, error, from) => {
    error.note = `${maybe}: the cart is read again in a moment.`;
    sayFailed(title, error, from);
    const drawn = renderCount;
    setTimeout(() => { if (renderCount === drawn) redraw(); }, UNKNOWN_OUTCOME_RECHECK_MS);
  };
  const rows = cart.items.map((line) => {
    const quantity = h('input', {class: 'qty', type: 'number', min: 0, max: 99, step: 1, value: line.quantity,
      'aria-label': `Quantity of ${line.name}`, 'data-focus-key': `qty:${line.product_id}`});
    quantity.addEventListener('change', async () => {
      const n = wholeQuantity(quantity.value, 0);
      if (n === null) {
        quantity.value = line.quantity;  // the field shows what the cart holds
        sayProblem(`Choose a quantity from 0 to 99, a whole number, for ${line.name}`, {field: quantity});
        return;
      }
      attempt.shown.get(line.product_id).quantity = n;
      try {
        await writeQuantity(line.product_id, n);
        redraw();
      } catch (error) {
        if (changeOutcomeUnknown(error)) {
          // It may have been changed all the same: the field keeps what was typed.
          recheckUnknown('Could not confirm the change', 'It may have been made all the same', error, quantity);
          return;
        }
        // The cart still holds the old quantity, which the totals show: so does the field.
        quantity.value = line.quantity;
        attempt.shown.get(line.product_id).quantity = line.quantity;
        sayFailed('Could not change it', error, quantity);
      }
    });
    const remove = h('button', {type: 'button', class: 'small danger', 'aria-label': `Remove ${line.name}`,
      'data-focus-key': `remove:${line.product_id}`}, 'Remove');
    remove.addEventListener('click', async () => {
      attempt.shown.get(line.product_id).quantity = 0;
      try {
        await trackCartChange(api('DELETE', `/api/cart/items/${encodeURIComponent(line.product_id)}`));
        redraw();
      } catch (error) {
        if (changeOutcomeUnknown(error)) {
          // A 504 whose removal the order service made a second later: it said "Could not
          // remove it" and kept showing the line, and the next checkout found the cart
          // "changed in another tab" (an outside probe).
          recheckUnknown('Could not confirm the removal', 'It may have been removed all the same', error, remove);
          return;
        }
        attempt.shown.get(line.product_id).quantity = line.quantity;
        sayFailed('Could not remove it', error, remove);
      }
    });
    const row = h('tr', {'data-test': 'cart-line', 'data-product-id': line.product_id},
      h('td', {class: 'name whole'}, h('a', {href: `#/products/${encodeURIComponent(line.product_id)}`}, line.name)),
      h('td', {class: 'num hide-narrow'}, money(line.unit_price_cents, cart.currency)),
      h('td', {}, quantity),
      h('td', {class: 'num', 'data-label': 'Total'}, money(line.line_total_cents, cart.currency)),
      h('td', {class: 'last'}, remove));
    attempt.rows.set(line.product_id, {row, name: line.name});
    return row;
  });
  attempt.lines = h('section', {class: 'card'},
      h('div', {class: 'table-wrap'}, h('table', {class: 'cart-lines stack-narrow'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', {class: 'num hide-narrow'}, 'Unit price'),
          h('th', {}, 'Quantity'), h('th', {class: 'num'}, 'Total'), h('th', {}, h('span', {class: 'skip'}, 'Actions')))),
        h('tbody', {}, rows))),
      h('div', {class: 'totals'},
        h('span', {}, 'Total ', h('span', {class: 'total', 'data-test': 'cart-total'}, money(cart.total_cents, cart.currency))),
        checkoutButton));
  const changed = takeCartChangedNotice(mine);
  drawPage(h('h1', {}, 'Your cart'),
    changed ? h('p', {class: 'notice warn', role: 'alert', 'data-test': 'cart-changed'}, changed) : null,
    waitingNotice(waiting),
    attempt.lines, checkoutArea);
}

// A quantity typed in a field, as a whole number from `least` to 99, or null. A number field
// takes "2.9" and "1e1", which parseInt read as 2 and 1 without a word.
function wholeQuantity(text, least) {
  const trimmed = String(text).trim();
  if (!/^\d{1,2}$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return n >= least && n <= 99 ? n : null;
}

// The shopper's orders still waiting for their payment. Back from the pay page leaves one, whose
// items are no longer in the cart: the cart page points to it (the shopper bought the items
// again, and the first order's expiry later put them back in the cart). A failed read shows none:
// the cart is what the page is for.
async function ordersWaitingForPayment() {
  try {
    const orders = readable(await api('GET', '/api/orders'), ordersShape);
    return orders.items.filter((order) => order.status === 'PAYMENT_PENDING');
  } catch {
    return [];
  }
}

function waitingNotice(orders) {
  if (!orders.length) return null;
  const link = (order, text) => h('a', {href: `#/orders/${encodeURIComponent(order.order_id)}`, 'data-test': 'pay-waiting'}, text);
  const about = (order) => ` (order ${order.order_id}, ${money(order.total_cents, order.currency)})`;
  return h('div', {class: 'notice warn', 'data-test': 'orders-waiting'},
    orders.length === 1
      ? h('p', {}, 'You have an order waiting for payment: ', link(orders[0], 'pay it'), about(orders[0]), '.')
      : [h('p', {}, `You have ${orders.length} orders waiting for payment:`),
        h('ul', {}, orders.map((order) => h('li', {}, link(order, `pay order ${order.order_id}`),
          ` (${money(order.total_cents, order.currency)})`)))],
    h('p', {class: 'muted'}, 'An order not paid in time is canceled, and its items come back to your cart.'));
}

// Checkout (seed steps 5-6): 201 takes the shopper to the provider's pay page, which brings
// them back to the order's page; a changed price asks them to confirm; an unavailable shop
// says so with a retry and the trace id.
//
// Each attempt sends an Idempotency-Key. A definite answer leaves no order behind that the key
// could find (a refusal created nothing; a 503 payment_unavailable failed its order and put the
// cart back, and its key replays that 503 for good), so the next click gets a fresh key. When
// the outcome is unknown (no answer, the gateway gave up with 504, a 5xx that does not say
// nothing ran) the order may exist: the next try sends the SAME key, and the order service
// answers with that order (docs/api.md), so the shopper goes on to pay it; a fresh key would
// get 400 cart_empty and leave the order unpaid, out of sight.
//
// The key is kept for the tab (sessionStorage, with the session it belongs to) from before the
// request is sent until a definite answer: a redraw of the cart (a quantity changed, Back, a
// reload, also one while the request is on its way) sent a fresh key while the first order
// might still be placed.
const PENDING_CHECKOUT = 'shopctl.pending_checkout';
const PENDING_CHECKOUT_MS = 10 * 60 * 1000;
function pendingCheckoutKey(user) {
  try {
    const kept = JSON.parse(sessionStorage.getItem(PENDING_CHECKOUT) || 'null');
    // Ten minutes: a key left from an hour ago would replay that hour's order for a new cart.
    const fresh = kept && typeof kept.at === 'number' && Date.now() - kept.at < PENDING_CHECKOUT_MS;
    return fresh && kept.user === user && typeof kept.key === 'string' ? kept.key : null;
  } catch {
    return null;
  }
}
function keepCheckoutKey(attempt) {
  if (attempt.key) {
    sessionStorage.setItem(PENDING_CHECKOUT, JSON.stringify({user: attempt.user, key: attempt.key, at: Date.now()}));
  }
  else {
    sessionStorage.removeItem(PENDING_CHECKOUT);
  }
}
async function checkout(button, area, cart, attempt) {
  // Signed in as someone else meanwhile (another tab), or signed out and in again.
  if (token() !== attempt.user || !sessionLive(attempt.session)) { render(); return; }
  button.disabled = true;
  // While the order is placed the lines cannot change: a quantity typed or a line removed
  // during a slow checkout went into the order while the page still showed the old cart (an
  // outside probe: €47.40 shown, €90.30 ordered). And the wait is said, seen and announced:
  // the only sign was a greyed button.
  attempt.lines?.setAttribute('inert', '');
  button.setAttribute('aria-busy', 'true');
  replace(area, h('p', {class: 'muted', role: 'status', 'data-test': 'placing-order'}, 'Placing your order…'));
  // A quantity typed just before the click (its PATCH sent on the field's change) or an add
  // still on its way: the order is placed once the cart holds them.
  checkoutRunning = true;
  try {
    await checkoutNow(button, area, cart, attempt);
  } finally {
    checkoutRunning = false;
    attempt.lines?.removeAttribute('inert');
    button.removeAttribute('aria-busy');
    const placing = area.querySelector('[data-test="placing-order"]');
    if (placing) placing.remove();
  }
}

async function checkoutNow(button, area, cart, attempt) {
  await cartChangesSettled();
  if (attempt.generation !== renderCount) return;  // the shopper went elsewhere meanwhile
  // The order is placed from the cart as the shop holds it, which another tab (or a change
  // that failed) may have made other than this page shows: read it first, and if it differs,
  // show it again instead of checking it out. A kept key too is sent only for the cart shown:
  // if its first attempt placed nothing, the key orders the cart as it is now, so that cart
  // must be the one the page shows (it skipped this, and "Try again" ordered what another tab
  // had added); if it placed an order, the answer is that order (below), and one for another
  // cart than the one shown is said, not paid.
  let now;
  try {
    // Part of the checkout: a session that ended here said nothing of the order not placed
    // (an outside probe), as a quantity change's did.
    now = readable(await api('GET', '/api/cart', undefined, {}, {change: true}), cartShape);
  } catch (error) {
    enable(button);
    replace(area, errorNotice(error, () => checkout(button, area, cart, attempt),
      error.redirected ? null : attempt.key
        ? 'Nothing more was ordered. Please try again in a moment.'
        : 'Nothing was ordered. Please try again in a moment.'));
    focusNotice(area);
    return;
  }
  if (attempt.generation !== renderCount) return;
  // An empty cart with a key kept is most likely the earlier attempt's order, which took the
  // items: the key picks it up (and if nothing was placed, it orders nothing: cart_empty).
  if (!cartAsShown(now, attempt) && !(attempt.key && now.items.length === 0)) {
    noteCartChanged('Your cart changed since this page showed it (in another tab, say), so nothing was ordered. '
      + 'This is what it holds now: check it, then check out again.'
      + (attempt.key ? ' An earlier checkout from this tab may have placed an order: checking out again finds it, and '
        + 'does not order twice.' : ''));
    return;
  }
  const kept = Boolean(attempt.key);
  attempt.key ??= randomId();
  // Kept before it is sent: a reload while the request is on its way must check out with the
  // same key (a fresh one got cart_empty and left the first order unpaid).
  keepCheckoutKey(attempt);
  try {
    const order = readable(await api('POST', '/api/orders', undefined, {'Idempotency-Key': attempt.key}), orderShape);
    attempt.key = null;
    keepCheckoutKey(attempt);
    // A kept key answers with the order it placed, which the shopper may have paid (or seen
    // fail) since, from its own page: that order is not what this click asks for, and the
    // cart shown is checked out afresh.
    if (kept && attempt.shown && await orderSettled(order)) {
      await checkoutNow(button, area, cart, attempt);
      return;
    }
    // A kept key's order was placed by the earlier attempt, for the cart as it was then: when
    // that is not the cart shown now, the shopper is told of it, and the next click orders the
    // cart shown (with a fresh key), rather than being sent to pay something else.
    if (kept && attempt.shown && !orderAsShown(order, attempt)) {
      enable(button);
      replace(area, h('div', {class: 'notice warn', role: 'alert', tabindex: -1, 'data-test': 'earlier-order'},
        h('p', {}, 'An earlier checkout from this tab placed order ',
          h('a', {class: 'mono', href: `#/orders/${encodeURIComponent(order.order_id)}`}, order.order_id),
          ` (${money(order.total_cents, order.currency)}), which is waiting for its payment. `
          + 'The cart shown here was not ordered.'),
        h('p', {}, 'Pay that order from its page, or check out this cart to order it too.')));
      focusNotice(area);
      return;
    }
    // The shopper went elsewhere while it was placed: the order waits for its payment on its
    // own page, said where they are now (the tab jumped from the product list to the pay page).
    if (attempt.generation !== renderCount) {
      clearTimeout(say.timer);
      replace(flash, h('p', {role: 'status', 'data-test': 'placed-elsewhere'}, 'Your order ',
        h('a', {class: 'mono', href: `#/orders/${encodeURIComponent(order.order_id)}`}, order.order_id),
        ` (${money(order.total_cents, order.currency)}) is placed and waiting for its payment: pay it from its page.`));
      return;
    }
    const went = await goPay(order);
    if (went === 'untrusted') {
      enable(button);
      replace(area, untrustedPayLink(order));
      focusNotice(area);
    } else if (went === 'unchecked') {
      // The order is placed: the cart shown is no longer the cart, so its checkout is not
      // offered again ("your cart changed" came next, of a cart nobody had changed).
      button.disabled = true;
      const again = async (event) => {
        event.currentTarget.disabled = true;
        const retried = await goPay(order);
        if (retried === 'untrusted') replace(area, untrustedPayLink(order));
        else if (retried === 'unchecked') replace(area, uncheckedPayLink(order, again));
        else return;
        focusNotice(area);
      };
      replace(area, uncheckedPayLink(order, again));
      focusNotice(area);
    }
  } catch (error) {
    enable(button);
    const retry = () => checkout(button, area, cart, attempt);
    if (error.redirected) { replace(area, errorNotice(error)); return; }
    if (checkoutOutcomeUnknown(error)) {
      keepCheckoutKey(attempt);
      replace(area, errorNotice(error, retry, error.code === 'idempotency_key_in_use'
        ? 'Your order is still being placed. Try again in a moment to go on to pay it.'
        : 'Your order may have been placed. Try again picks it up and takes you on to pay it; it does not place a second order.'));
    } else {
      attempt.key = null;
      keepCheckoutKey(attempt);
      if (error.code === 'price_changed') {
        // The cart took the new prices, which the dialog shows: confirming them orders that cart.
        // A change the page cannot read is not listed ("€NaN"); its line keeps the price shown,
        // so the next checkout finds the cart changed and draws it again instead of ordering.
        const changes = Array.isArray(error.details.changes)
          ? error.details.changes.filter((change) => change && typeof change === 'object' && priceChangeShape(change)) : [];
        for (const change of changes) {
          const line = attempt.shown?.get(change.product_id);
          if (line) line.price = change.new_price_cents;
        }
        showPriceChange(changes, cart, retry, attempt.generation);
        return;
      }
      if (error.code === 'product_unavailable') {
        replace(area, unavailableNotice(error, attempt, retry));
        focusNotice(area);
        return;
      }
      // A 4xx says itself what is wrong (the cart is empty, a product unavailable). A 503
      // payment_unavailable placed an order and canceled it (docs/api.md): it shows in the
      // shopper's orders, so "your cart is unchanged" alone misled (an outside probe).
      replace(area, errorNotice(error, retryHelps(error) ? retry : null, error.code === 'payment_unavailable'
        ? 'Payment could not be started right now, so that order was canceled and nothing was charged; '
          + 'your items are back in your cart. Please try again in a moment.'
        : error.status >= 500
          ? 'Nothing was charged and your cart is unchanged. Please try again in a moment.'
          : checkoutRefusal(error)));
    }
    // The focus goes to what the page says (the button it was on was disabled, and it fell to
    // the document's body).
    focusNotice(area);
    showCartNow(attempt);
    // An order the gateway gave up on is often placed moments later: look again, twice (a
    // slow shop places it later than the first look).
    if (attempt.key) {
      setTimeout(() => showCartNow(attempt), UNKNOWN_OUTCOME_RECHECK_MS);
      setTimeout(() => showCartNow(attempt), 3 * UNKNOWN_OUTCOME_RECHECK_MS);
    }
  }
}

// 409 product_unavailable: which products cannot be bought now (details.products, each with
// its product_id and reason), named, and their lines marked, so the shopper knows what to remove.
function unavailableNotice(error, attempt, retry) {
  const listed = Array.isArray(error.details.products) ? error.details.products : [];
  const ids = listed.map((entry) => entry && entry.product_id).filter(isText);
  for (const id of ids) {
    const line = attempt.rows.get(id);
    if (!line || line.row.classList.contains('unavailable')) continue;
    line.row.classList.add('unavailable');
    line.row.querySelector('td.name').append(' ', h('span', {class: 'badge bad', 'data-test': 'line-unavailable'}, 'Not available now'));
  }
  const names = ids.map((id) => attempt.rows.get(id)?.name || id);
  if (!names.length) return errorNotice(error, retry);
  return h('div', {class: 'notice error', role: 'alert', 'data-test': 'error'},
    h('p', {}, names.length === 1
      ? `${names[0]} cannot be bought now, so nothing was ordered.`
      : `These products cannot be bought now, so nothing was ordered: ${names.join(', ')}.`),
    h('p', {}, `Remove ${names.length === 1 ? 'it' : 'them'} from your cart (marked “Not available now”), then check out again.`),
    h('p', {class: 'muted'}, `(${error.code})`));
}

// A failed checkout's answer says for sure whether an order is left behind: the contract's 4xx
// refusals, the order service's 503 catalog_unavailable (it created nothing) and 503
// payment_unavailable (its order failed, the cart is back), and the gateway's 503 after a
// refused connection (the request never reached the order service). Anything else may have
// placed the order: 409 idempotency_key_in_use (the first request with this key is still
// running), a 2xx the page cannot read, no answer, 504 upstream_timeout, another 5xx (the
// order service's 503 storage_unavailable can come after it created the order, docs/api.md).
function checkoutOutcomeUnknown(error) {
  if (error.code === 'idempotency_key_in_use' || error.code === 'unreadable_answer') return true;
  if (error.status > 0 && error.status < 500) return false;
  if (error.code === 'catalog_unavailable' || error.code === 'payment_unavailable') return false;
  if (error.code === 'service_unavailable' && /\((connection_refused|host_unreachable)\)/.test(error.message)) return false;
  return true;
}

// What a checkout refused for good (a 4xx that trying again does not change) means for the
// shopper, and what they can do instead; null: the shop's own message says it.
function checkoutRefusal(error) {
  switch (error.code) {
    case 'too_many_unpaid_orders':
      return h('span', {'data-test': 'refusal-lead'}, 'Nothing was ordered and your cart is unchanged. Pay one of the orders waiting for payment in ',
        h('a', {href: '#/orders'}, 'your orders'), ' (or let it expire), then check out again.');
    case 'nothing_to_pay':
      return 'Nothing was ordered: everything in your cart is free. Add a product that has a price to check out.';
    case 'amount_too_large':
      return 'Nothing was ordered: the cart\'s total is more than one payment can take. Remove some items, then check out again.';
    default:
      return null;
  }
}

// After a failed checkout the cart may have changed (an order placed after all took its
// items, or the cart was emptied elsewhere): the badge and the lines show what it holds now.
async function showCartNow(attempt) {
  if (!sessionLive(attempt.session)) return;  // a later look of a session that has ended
  let cart;
  try { cart = readable(await api('GET', '/api/cart'), cartShape); } catch { return; }
  if (attempt.generation !== renderCount) return;
  setCartCount(cart);
  if (!cart.items.length) {
    replace(attempt.lines, h('p', {'data-test': 'cart-now-empty'}, 'Your cart is empty now.'),
      h('a', {class: 'btn secondary', href: '#/orders'}, 'See your orders'));
  }
}

// Whether the order is no longer waiting for its payment (an unreadable answer counts as waiting:
// the pay page then says how it stands).
async function orderSettled(order) {
  try {
    const now = readable(await api('GET', `/api/orders/${encodeURIComponent(order.order_id)}`), orderShape);
    return now.status !== 'PAYMENT_PENDING';
  } catch {
    return false;
  }
}

// A note for the cart page drawn next: why a checkout drew it again instead of ordering. It
// belongs to that one drawing (`generation`); any later page drops it.
let cartChangedNotice = null;
function noteCartChanged(text) {
  cartChangedNotice = {text, generation: renderCount + 1};
  render();
}
function takeCartChangedNotice(generation) {
  const notice = cartChangedNotice;
  cartChangedNotice = null;
  return notice && notice.generation === generation ? notice.text : null;
}

// Whether `cart` holds the lines the page shows, at its quantities and unit prices.
// (The empty cart's "Go on to pay it" shows no lines.)
function cartAsShown(cart, attempt) {
  const shown = [...(attempt.shown || [])].filter(([, line]) => line.quantity > 0);
  return cart.items.length === shown.length && shown.every(([id, line]) => cart.items.some(
    (held) => held.product_id === id && held.quantity === line.quantity && held.unit_price_cents === line.price));
}

// Whether `order` holds the lines the page shows, at its quantities and unit prices.
function orderAsShown(order, attempt) {
  const shown = [...attempt.shown].filter(([, line]) => line.quantity > 0);
  const items = Array.isArray(order.items) ? order.items : [];
  return items.length === shown.length && shown.every(([id, line]) => items.some(
    (held) => held.product_id === id && held.quantity === line.quantity && held.unit_price_cents === line.price));
}

// Puts the focus on the notice just drawn in `area`, so that a keyboard user (and a screen
// reader) is not left on the document's body when the button they pressed is replaced.
function focusNotice(area) {
  const notice = area.querySelector('[data-test="error"], [data-test="earlier-order"]');
  if (!notice) return;
  if (!notice.hasAttribute('tabindex')) notice.setAttribute('tabindex', '-1');
  notice.focus({preventScroll: true});
  notice.scrollIntoView({block: 'nearest'});
}

// The provider's origin, asked of the gateway once (GET /pay-origin.json, which no fault
// reaches): the page followed any pay_url an answer held, and a pasted fault that forged an
// order sent the shopper to another site's card form (an outside probe).
let payOriginAsked = null;
function payOrigin() {
  if (!payOriginAsked) {
    payOriginAsked = fetch('/pay-origin.json', {headers: {Accept: 'application/json'}})
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => (body && isText(body.pay_origin) ? body.pay_origin : null))
      .catch(() => null)
      .then((origin) => { if (!origin) payOriginAsked = null; return origin; });
  }
  return payOriginAsked;
}

// Whether `payUrl` is a pay page of the shop's provider: http(s), the provider's origin, a
// /pay/ path, nothing else (no user, query or fragment).
function trustedPayUrl(payUrl, origin) {
  let url;
  try { url = new URL(payUrl); } catch { return false; }
  return Boolean(origin) && (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin
    && url.pathname.startsWith('/pay/') && !url.username && !url.password && !url.search && !url.hash;
}

// Goes to the order's pay page: 'left'. Going nowhere: 'untrusted' when its pay link does not
// lead to the shop's provider, 'unchecked' when the provider's origin could not be read (no
// answer from the shop): the caller says so. An unread origin was taken for a forged link,
// and the shopper was told the pay link was not the shop's (an outside probe).
async function goPay(order) {
  const back = `${location.origin}/#/orders/${encodeURIComponent(order.order_id)}`;
  const payUrl = order.payment && order.payment.pay_url;
  if (!payUrl) { location.hash = `#/orders/${encodeURIComponent(order.order_id)}`; return 'left'; }
  const origin = await payOrigin();
  if (!origin) return 'unchecked';
  if (!trustedPayUrl(payUrl, origin)) return 'untrusted';
  location.assign(`${payUrl}?return_url=${encodeURIComponent(back)}`);
  return 'left';
}

// What the page says when it could not check the pay link (the shop did not answer): the
// order is placed and waits for its payment; `retry` tries again.
function uncheckedPayLink(order, retry) {
  return h('div', {class: 'notice warn', role: 'alert', tabindex: -1, 'data-test': 'error'},
    h('p', {}, 'Your order ',
      h('a', {class: 'mono', href: `#/orders/${encodeURIComponent(order.order_id)}`}, order.order_id),
      ' is placed and waits for its payment, but the shop could not be reached to open its pay page.'),
    h('button', {type: 'button', 'data-test': 'retry', on: {click: retry}}, 'Go to the pay page'));
}

// What the page says instead of following a pay link that leads elsewhere.
function untrustedPayLink(order) {
  return h('div', {class: 'notice error', role: 'alert', tabindex: -1, 'data-test': 'error'},
    h('p', {}, 'The pay link of order ', h('span', {class: 'mono'}, order.order_id),
      ' does not lead to the shop\'s payment page, so this page does not follow it. Nothing was charged.'),
    h('p', {class: 'muted'}, '(untrusted_pay_link)'));
}

async function showPriceChange(changes, oldCart, confirm, generation) {
  const names = new Map(oldCart.items.map((line) => [line.product_id, line.name]));
  let newTotal = null;
  try {
    const cart = readable(await api('GET', '/api/cart'), cartShape);
    newTotal = money(cart.total_cents, cart.currency);
  } catch {
    newTotal = null;
  }
  if (generation !== renderCount) return;  // the shopper went elsewhere meanwhile
  const currency = oldCart.currency;
  const confirmButton = h('button', {type: 'button', 'data-test': 'confirm-price'}, 'Accept the new prices and pay');
  const back = h('button', {type: 'button', class: 'secondary'}, 'Back to the cart');
  replace(priceDialog,
    h('h2', {id: 'price-dialog-title'}, 'Prices have changed'),
    h('p', {}, 'Some prices changed since you put these items in your cart. Your cart now has the new prices.'),
    changes.length === 0 ? null : h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', {class: 'num'}, 'Was'), h('th', {class: 'num'}, 'Now'))),
      h('tbody', {}, changes.map((c) => h('tr', {'data-test': 'price-change'},
        h('td', {}, names.get(c.product_id) || c.product_id),
        h('td', {class: 'num'}, h('s', {}, money(c.old_price_cents, currency))),
        h('td', {class: 'num'}, h('strong', {}, money(c.new_price_cents, currency))))))),
    newTotal ? h('p', {}, 'New total: ', h('strong', {'data-test': 'new-total'}, newTotal)) : null,
    h('div', {class: 'row'}, confirmButton, back));
  // However the dialog closes without the confirmation ("Back to the cart", Escape), the page
  // is drawn again, with the new prices the cart now has.
  let confirmed = false;
  // The focus then goes to the cart's "Check out and pay" (it fell to the page's content).
  priceDialog.onclose = () => {
    if (confirmed) return;
    const drawn = render();
    const generation = renderCount;
    drawn.then(() => {
      if (generation !== renderCount) return;
      if (document.activeElement !== main && document.activeElement !== document.body) return;
      main.querySelector('[data-test="checkout"]')?.focus();
    });
  };
  confirmButton.addEventListener('click', () => { confirmed = true; priceDialog.close(); confirm(); });
  back.addEventListener('click', () => priceDialog.close());
  priceDialog.showModal();
  confirmButton.focus();
}

// At phone width each line is a block of its own, as the cart's and the order list's are: the
// table scrolled sideways in a region the keyboard could not reach, and its quantities, line
// totals and the order's total were off screen at 320 px and at 200 % zoom (an outside probe).
function orderSummary(order) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'order-lines stack-narrow'},
    h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', {class: 'num'}, 'Quantity'), h('th', {class: 'num'}, 'Total'))),
    h('tbody', {}, order.items.map((line) => h('tr', {},
      h('td', {class: 'whole name'}, line.name),
      h('td', {class: 'num', 'data-label': 'Quantity'}, line.quantity),
      h('td', {class: 'num last'}, money(line.line_total_cents, order.currency))))),
    h('tfoot', {}, h('tr', {}, h('th', {}, 'Total'), h('td', {class: 'hide-narrow'}), h('td', {class: 'num last'},
      h('strong', {}, money(order.total_cents, order.currency)))))));
}

// The order's page: polls every second while the payment is pending, so it moves from
// PAYMENT_PENDING to PAID or FAILED by itself once the provider's webhook has been handled.
// A poll that fails (the order service stopped or restarting) does not end the polling: the
// page says it cannot reach the order and tries again, backing off to every 5 s. It never says
// "nothing was charged": the shopper may well have paid. The page is drawn again only when the
// order changed, so a keyboard user's focus ("Pay now") survives the polls.
const POLL_MAX_MS = 5000;

async function orderPage(id, generation, state = {failures: 0, drawn: null, reach: null, live: null, body: null}) {
  setTitle(`Order ${id}`);
  let order;
  try {
    order = readable(await api('GET', `/api/orders/${encodeURIComponent(id)}`),
      orderShape);
  } catch (error) {
    if (generation !== renderCount) return;
    // A definite answer (the order does not exist, a refused session) is the router's to show;
    // "too many requests" (429) and a timeout (408) pass, as a 5xx does. So does a 404 for an
    // order this page has read already: an order is never removed, so it is a passing fault on
    // the way (one injected 404 ended the polling for good, and a paid order stayed "pending").
    const passing = error.status === 429 || error.status === 408
      || (error.status === 404 && state.drawn !== null && !error.redirected);
    if (error.redirected || (error.status >= 400 && error.status < 500 && !passing)) throw error;
    state.failures += 1;
    const wait = Math.min(POLL_MS * 2 ** (state.failures - 1), POLL_MAX_MS);
    // An answer the page cannot read (a proxy's page, a status it does not know) is said as such.
    const what = error.code === 'unreadable_answer'
      ? 'Sorry, the shop sent an answer this page cannot read' : 'We cannot reach your order right now';
    const notice = h('div', {class: 'notice warn', role: 'status', 'data-test': 'order-unreachable'},
      h('p', {}, `${what}. Retrying every ${Math.round(wait / 1000)} s…`),
      h('p', {}, 'If you paid, your payment is safe: this page shows the result as soon as the order can be read.'),
      h('p', {class: 'muted'}, `(${error.code}: ${error.message})`),
      error.traceId ? traceLine(error.traceId) : null);
    if (!state.drawn) {
      state.reach = h('div');
      drawPage(h('p', {}, h('a', {href: '#/orders'}, '← All orders')),
        h('h1', {}, 'Order ', h('span', {class: 'mono'}, id)), state.reach);
    }
    replace(state.reach, notice);
    pollTimer = setTimeout(() => pollOrder(id, generation, state), wait);
    return;
  }
  if (generation !== renderCount) return;
  state.failures = 0;
  const drawn = JSON.stringify(order);
  if (drawn !== state.drawn) {
    state.drawn = drawn;
    drawOrder(order, state);
  } else {
    replace(state.reach);
  }
  if (order.status === 'PAYMENT_PENDING') {
    pollTimer = setTimeout(() => pollOrder(id, generation, state), POLL_MS);
  } else {
    refreshCartCount();
  }
}

function pollOrder(id, generation, state) {
  orderPage(id, generation, state).catch((error) => {
    if (generation === renderCount) showLoadError(error);
  });
}

// A page that could not be read: the error in place of the page, with "Try again" only when
// trying again can help (no answer, a 5xx, 408, 429, an answer the page could not read; a 404
// or another 4xx gives the same answer again). The tab's title says it too (it was left from
// the page before).
function showLoadError(error) {
  if (error.status === 404) setTitle('Not found');
  else if (!error.redirected) setTitle(`Could not load: ${document.title.replace(/ · shopctl shop$/, '')}`);
  drawPage(errorNotice(error, retryHelps(error) ? render : null));
}

// Whether sending the same request again can get another answer: no answer, a 5xx, 408, 429,
// an answer the page could not read, or a checkout another request of the user holds. Another
// 4xx is the same answer again (a "Try again" under 409 too_many_unpaid_orders or 400
// nothing_to_pay only repeated it; an outside probe).
function retryHelps(error) {
  return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429
    || error.code === 'unreadable_answer' || error.code === 'checkout_in_progress';
}

function drawOrder(order, state) {
  const reason = [...order.history].reverse().find((entry) => entry.reason)?.reason;
  let outcome;
  if (order.status === 'PAID') {
    outcome = h('p', {class: 'notice ok'}, 'Thank you! Your payment went through and your order is paid.');
  } else if (order.status === 'FAILED') {
    outcome = h('div', {class: 'notice error'},
      h('p', {}, `The payment failed${reason ? ` (${reason})` : ''}. Nothing was charged.`),
      h('p', {}, 'Your items are back in your cart. ', h('a', {href: '#/cart'}, 'Go to the cart to try again.')));
  } else {
    const payUrl = order.payment && order.payment.pay_url;
    outcome = h('div', {class: 'notice warn'},
      h('p', {}, 'Waiting for the payment result… this page updates by itself.'),
      payUrl ? h('button', {type: 'button', 'data-key': 'pay-now', on: {click: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        const went = await goPay(order);
        if (went === 'untrusted') {
          button.replaceWith(untrustedPayLink(order));
        } else if (went === 'unchecked') {
          // Kept, to try again: it was replaced by the untrusted-link notice for good.
          enable(button);
          sayProblem('Could not open the pay page: the shop could not be reached. Try Pay now again in a moment.',
            {from: button});
        }
      }}}, 'Pay now') : null,
      // A card charged while the shop could not hear of it yet (payment down) left "Pay now"
      // inviting a second payment, with nothing said (an outside probe).
      payUrl ? h('p', {class: 'muted', 'data-test': 'paid-already-note'},
        'Paid already? The result is on its way to the shop; paying again is refused, so you cannot be charged twice.') : null);
  }
  // The control that has the focus, by its data-key, gets it back after the redraw.
  const focused = main.contains(document.activeElement) ? document.activeElement.dataset?.key : null;
  // The page's frame is drawn once; a redraw changes what is inside it. The status line is one
  // live region for the page's life: a screen reader announces a live region's changes, and
  // may say nothing of a new one put in place of the old.
  if (!state.live || !main.contains(state.live)) {
    state.reach = h('div');
    state.live = h('div', {class: 'status-line', 'aria-live': 'polite', 'data-test': 'order-live'});
    state.body = h('div');
    drawPage(
      h('p', {}, h('a', {href: '#/orders', 'data-key': 'all-orders'}, '← All orders')),
      h('h1', {}, 'Order ', h('span', {class: 'mono'}, order.order_id)),
      state.reach, state.live, state.body);
  }
  replace(state.reach);  // the order was read: no "cannot reach" notice left from a failed poll
  replace(state.live, statusBadge(order.status), h('span', {class: 'muted'}, `placed ${when(order.created_at)}`));
  replace(state.body,
    outcome,
    h('section', {class: 'card'}, h('h2', {}, 'Items'), orderSummary(order)),
    h('section', {class: 'card'}, h('h2', {}, 'History'),
      h('ol', {class: 'history'}, order.history.map((entry) => h('li', {},
        statusBadge(entry.status), ' ', h('span', {class: 'muted'}, when(entry.at)),
        entry.reason ? ` — ${entry.reason}` : '')))));
  if (focused) main.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus({preventScroll: true});
}

async function ordersPage() {
  const mine = renderCount;
  setTitle('Your orders');
  const orders = readable(await api('GET', '/api/orders'), ordersShape);
  if (mine !== renderCount) return;
  setTitle('Your orders');
  drawPage(h('h1', {}, 'Your orders'),
    orders.items.length
      ? h('section', {class: 'card table-wrap'}, h('table', {class: 'stack-narrow'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Placed'), h('th', {}, 'Status'), h('th', {class: 'num'}, 'Total'))),
        h('tbody', {}, orders.items.map((order) => h('tr', {'data-test': 'order-row'},
          h('td', {class: 'whole'}, h('a', {class: 'mono', href: `#/orders/${encodeURIComponent(order.order_id)}`}, order.order_id)),
          h('td', {'data-label': 'Placed'}, when(order.created_at)),
          h('td', {}, statusBadge(order.status)),
          h('td', {class: 'num last'}, money(order.total_cents, order.currency)))))))
      : h('div', {class: 'card'}, h('p', {}, 'No orders yet.'), h('a', {class: 'btn', href: '#/'}, 'Browse the shop')));
}

// ---- the router ---------------------------------------------------------------------------

// One path segment of the route, decoded; null when it is not valid percent-encoding (a
// mangled shared link: decodeURIComponent threw outside the try below and the page stayed on
// "Loading" for ever) or a dot segment, which no id is and which the browser's URL rules would
// turn into the list route (`#/products/.` drew a product of undefined fields).
function routeSegment(segment) {
  let decoded;
  try { decoded = decodeURIComponent(segment); } catch { return null; }
  return decoded === '.' || decoded === '..' ? null : decoded;
}

function notFoundPage() {
  setTitle('Page not found');
  drawPage(h('h1', {}, 'Page not found'), h('p', {}, h('a', {href: '#/'}, 'Back to the shop')));
}

let drawnRoute = '/';  // the route render() drew last

// While a page loads, the page before it is no page to use: it stays (a blank flash for every
// fast load would be worse) but takes no input (inert), and after 150 ms is dimmed, said
// "Loading…" and marked aria-busy. It was live: page 1's "Add to cart" buttons worked for the
// 10 s a hung catalog took to answer page 2, under page 2's title (an outside probe).
// Only what is on the page now is made inert: the page drawn next replaces it, and can take
// the focus at once (the login page's email field).
let busyTimer = 0;
function loading(on) {
  clearTimeout(busyTimer);
  if (on) {
    for (const child of main.children) child.inert = true;
    busyTimer = setTimeout(() => main.setAttribute('aria-busy', 'true'), 150);
  } else {
    for (const child of main.children) child.inert = false;
    main.removeAttribute('aria-busy');
  }
}

// A control a redraw puts back (`data-focus-key`, "kind:id") keeps the keyboard's place: the
// cart drawn again after a quantity change moved the focus to the page, and the next Tab went
// to the first product link. The control with the same key gets it back; when that one is gone
// (its line removed), the one of its kind at the same place in the page, or the last of them.
function focusMark() {
  const at = document.activeElement?.closest?.('[data-focus-key]');
  if (!at || !main.contains(at)) return null;
  const kind = at.dataset.focusKey.split(':')[0];
  const same = [...main.querySelectorAll('[data-focus-key]')].filter((el) => el.dataset.focusKey.split(':')[0] === kind);
  return {key: at.dataset.focusKey, kind, index: same.indexOf(at)};
}
// The keyboard's place as the page is drawn. A page drawn again in place (see render()) stays
// live while its answer is on its way, so that place is where the shopper has moved the focus
// meanwhile: a quantity's arrow key sends it at once, and the Tab pressed next, before the cart
// came back, landed on the Remove a moment before the cart was drawn again.
let drawMark = null;
function drawPage(...children) {
  drawMark = focusMark();
  replace(main, ...children);
}
function restoreFocus(mark) {
  if (!mark) return false;
  const all = [...main.querySelectorAll('[data-focus-key]')];
  const same = all.filter((el) => el.dataset.focusKey.split(':')[0] === mark.kind);
  const target = all.find((el) => el.dataset.focusKey === mark.key) || same[Math.min(mark.index, same.length - 1)];
  if (!target) return false;
  target.focus();
  return document.activeElement === target;
}

// `refresh`: the page shown is drawn again with what the shop holds now (the cart after one of
// its lines changed). If it is still the page of the address, it stays live meanwhile: it is
// the same page, and a keyboard user changing a quantity with the arrow keys, or moving on with
// Tab, lost the key presses made while the cart was read again (the page was inert). Only its
// "Check out" waits: the checkout of a page being replaced would be dropped.
async function render({refresh = false} = {}) {
  clearTimeout(pollTimer);
  clearProblem();
  closeDialogs();
  const mark = focusMark();
  const generation = ++renderCount;
  const route = currentRoute();
  const inPlace = refresh && route === drawnRoute;
  drawnRoute = route;
  const [path, query = ''] = route.split('?');
  const params = new URLSearchParams(query);
  const open = path === '/login' || path === '/register';
  // Seed step 1: without a token the app sends the user to the login page.
  if (!open && !token()) { goLogin(route); return; }
  updateNav(path);
  if (open && token()) { location.replace(`#${params.get('next') || '/'}`); return; }
  const segments = path.split('/').filter(Boolean).map(routeSegment);
  if (inPlace) {
    for (const button of main.querySelectorAll('[data-test="checkout"]')) button.disabled = true;
  } else {
    loading(true);
  }
  drawMark = null;
  try {
    if (segments.includes(null)) notFoundPage();
    else if (path === '/login') loginPage(params);
    else if (path === '/register') registerPage(params);
    else if (segments.length === 0) await browsePage(params);
    else if (segments[0] === 'products' && segments.length === 2) await productPage(segments[1]);
    else if (segments[0] === 'cart' && segments.length === 1) await cartPage();
    else if (segments[0] === 'orders' && segments.length === 1) await ordersPage();
    else if (segments[0] === 'orders' && segments.length === 2) await orderPage(segments[1], generation);
    else notFoundPage();
  } catch (error) {
    if (generation === renderCount) showLoadError(error);
  }
  if (generation !== renderCount) return;
  loading(false);
  if (restoreFocus(drawMark || mark)) return;
  if (document.activeElement === document.body) main.focus({preventScroll: true});
}

document.getElementById('logout').addEventListener('click', () => {
  signOut();
  goLogin();
});
// "Skip to content" (href="#main", which works without the script too) moves the focus to the
// page's content; the router would take "#main" for a route ("Page not found"). A "#main" that
// arrives anyway (the link opened some other way) puts the route drawn back in the address.
const SKIP_TARGET = '#main';
function skipToContent() {
  main.focus();
  main.scrollIntoView({block: 'start'});
}
document.querySelector('a.skip').addEventListener('click', (event) => {
  event.preventDefault();
  skipToContent();
});
window.addEventListener('hashchange', () => {
  if (location.hash === SKIP_TARGET) {
    history.replaceState(history.state, '', `#${drawnRoute}`);
    skipToContent();
    return;
  }
  render();
});
// A page the browser puts back from its back/forward cache (Back from the pay page) shows what
// it showed when it was left: the cart before the order took its items. It is drawn again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) {
    render();
    refreshCartCount();
  }
});
// The session lives in localStorage, shared by every tab of the shop. When another tab logs
// out, or logs in as someone (else), this tab must not go on showing, or checking out, the
// cart it drew for the previous user: it goes to the login page saying why, or draws its page
// again for the user now signed in. (`key` is null when the whole storage was cleared.)
window.addEventListener('storage', (event) => {
  if (event.key === EMAIL_KEY) document.getElementById('who').textContent = localStorage.getItem(EMAIL_KEY) || '';
  if (event.key !== TOKEN_KEY && event.key !== null) return;
  if (event.key === TOKEN_KEY && event.oldValue === event.newValue) return;
  sessionChanged();
  if (!token()) {
    updateNav(currentRoute());
    const why = localStorage.getItem(SIGNED_OUT_KEY) || 'other_tab';
    if (!currentRoute().startsWith('/login') && !currentRoute().startsWith('/register')) goLogin(currentRoute(), why);
    return;
  }
  const who = localStorage.getItem(EMAIL_KEY);
  render();
  if (who) say(`Signed in as ${who} (in another tab)`);
});
// A page opened at "#main" (the skip link opened in a new tab) has drawn nothing yet: it draws
// the shop's first page (drawnRoute), whose content render() gives the focus.
if (location.hash === SKIP_TARGET) history.replaceState(history.state, '', `#${drawnRoute}`);
render();
refreshCartCount();
