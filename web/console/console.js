// The operator console: the gateway's admin plane, read every second (polling) and driven
// with forms. The admin token is asked once and kept in this page's memory only, never in
// sessionStorage, localStorage or a URL: the shop's pages have the same origin as the console
// and could read any storage the console wrote. It goes in the X-Admin-Token header. Text from the shop goes in with
// textContent only (common/dom.js).
import {h, replace, formatTime} from '/assets/common/dom.js';
// The script runs: the notice for a page whose script never started goes (index.html).
document.getElementById('boot-failed')?.remove();

// The console shows two clocks: the shop's (call records, breaker transitions, the clock card),
// which an admin advance moves, and this browser's (when a panel was last read). Each time
// says which it is: a transition at shop time 15:19 sat beside "read at 15:08" (an outside
// probe). A breaker transition's `at` is an ISO time of the shop's clock.
function shopTime(at) {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isNaN(ms) ? String(at) : formatTime(ms);
}

// How far the shop's clock is ahead of this browser's, from the last clock read (null before
// it): an OPEN breaker's `open_until` (shop clock) is judged against it.
let shopOffsetMs = null;
// Whether an OPEN breaker's wait has ended by the shop's clock (null: not known).
function waitOver(openUntil) {
  const until = Date.parse(openUntil);
  if (shopOffsetMs === null || Number.isNaN(until)) return null;
  return Date.now() + shopOffsetMs >= until;
}

const POLL_MS = 1000;
const KEEP_CALLS = 400;
const SHOWN_CALLS = 150;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
let architecture = null;
let calls = [];
let nextSeq = null;
let traceFilter = '';
let pollTimer = null;
let polling = false;     // a poll is on its way: there is one poll loop at a time
let pollAgain = false;   // an action asked for a poll while one was on its way
let session = 0;         // counts the tokens given: a poll of a token forgotten since is dropped
let token = null;  // the admin token: in this page's memory only (see above)

class AdminError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `the admin plane answered ${status}`);
    this.status = status;
    this.code = (body && body.error && body.error.code) || `http_${status}`;
  }
}

function adminToken() { return token; }

// JSON as the shop wrote it: an integer past 2^53 (a fault's `select: {after: 2^63-1}`) is kept
// as its digits, not rounded to another number (the console showed 9223372036854776000 where
// `fault list` said 9223372036854775807; an outside probe). null for text that is not JSON.
function parseExact(text) {
  try {
    return JSON.parse(text, (key, value, context) =>
      typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? '') ? context.source : value);
  } catch {
    return null;
  }
}

// `timeoutMs`: give up on an answer that takes longer (a poll's read of a hung process).
async function admin(method, path, body, timeoutMs = 0) {
  const headers = {Accept: 'application/json', 'X-Admin-Token': adminToken() || ''};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
  let response;
  let data;
  try {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    response = await fetch(path, {method, headers, signal, body: text});
    data = parseExact(await response.text().catch((error) => { if (error.name === 'TimeoutError') throw error; return ''; }));
  } catch (error) {
    if (error.name === 'TimeoutError') {
      throw new AdminError(0, {error: {message: `no answer within ${timeoutMs / 1000} s`, code: 'timeout'}});
    }
    throw new AdminError(0, {error: {message: 'the gateway could not be reached', code: 'unreachable'}});
  }
  if (!response.ok) throw new AdminError(response.status, data);
  if (method === 'GET' && (data === null || typeof data !== 'object')) {
    throw new AdminError(response.status, {error: {message: 'an answer the console cannot read', code: 'unreadable_answer'}});
  }
  return data;
}

// Redraws `container` with `render(data)` only when the data changed, so that a poll does not
// take the keyboard focus away: the focused control (named by its data-key) is focused again
// after the redraw when it is still there.
const drawnData = new Map();
function draw(container, data, render) {
  const text = JSON.stringify(data);
  if (drawnData.get(container) === text) return;
  drawnData.set(container, text);
  const active = document.activeElement;
  const focused = active && container.contains(active) ? active.dataset.key : null;
  render(data);
  if (focused) container.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

// ---- the token ----------------------------------------------------------------------------

function askForToken(message) {
  session += 1;
  clearTimeout(pollTimer);
  $('console').hidden = true;
  $('forget').hidden = true;
  $('token-form').hidden = false;
  replace($('token-error'), message ? h('p', {class: 'notice error'}, message) : null);
  $('token').focus();
}

$('token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  // A token with a character no admin token has (a space, an accented letter, a euro sign)
  // cannot even be sent in a header: fetch threw, and the console said "the gateway could not
  // be reached" (an outside probe). Said as the wrong token it is.
  if (/[^\x21-\x7e]/.test(token)) {
    token = null;
    askForToken('That is not the admin token: it holds a character an admin token never has (a space, or one outside plain ASCII).');
    return;
  }
  try {
    await admin('GET', '/_admin/info');
  } catch (error) {
    token = null;
    askForToken(error.status === 401 ? 'That is not the admin token.' : error.message);
    return;
  }
  $('token').value = '';
  start();
});

$('forget').addEventListener('click', () => {
  token = null;
  askForToken();
});

// ---- the architecture ---------------------------------------------------------------------

const positions = {
  client: [60, 235], gateway: [260, 235], auth: [500, 45], catalog: [500, 165],
  order: [500, 305], payment: [500, 430], provider: [740, 370],
};

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function positionOf(name) {
  if (!positions[name]) positions[name] = [70, 60 + 60 * Object.keys(positions).length % 360];
  return positions[name];
}

function edgeSummary(stats) {
  if (!stats) return '';
  const parts = [`${stats.calls} calls`];
  if (stats.errors) parts.push(`${stats.errors} errors`);
  parts.push(`p99 ${Number(stats.p99_ms || 0).toFixed(1)} ms`);
  if (stats.refused_by_breaker) parts.push(`${stats.refused_by_breaker} refused by breaker`);
  if (stats.violations) parts.push(`${stats.violations} refused (not allowed)`);
  return parts.join(', ');
}

function drawArchitecture(edges, services) {
  const allowed = new Map(architecture.allowed_edges.map((e) => [e.edge, e]));
  const all = new Map();
  for (const e of architecture.allowed_edges) all.set(e.edge, {caller: e.caller, callee: e.callee, allowed: true});
  for (const name of Object.keys(edges)) {
    if (!all.has(name)) {
      const [caller, callee] = name.split('->');
      all.set(name, {caller, callee, allowed: false});
    }
  }
  const running = new Map((services || []).map((s) => [s.name, s.running]));
  const root = svg('svg', {viewBox: '0 0 820 470', role: 'img', 'aria-labelledby': 'graph-title'},
    svg('title', {id: 'graph-title'}, 'The shop\'s call graph: allowed edges and observed calls'),
    svg('defs', {}, svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: 'auto-start-reverse'}, svg('path', {d: 'M 0 0 L 10 5 L 0 10 z'}))));
  const labels = [];
  for (const [name, edge] of all) {
    const stats = edges[name];
    const [x1, y1] = positionOf(edge.caller);
    const [x2, y2] = positionOf(edge.callee);
    // Bend each directed edge to its own side, so A->B and B->A do not overlap.
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    const length = Math.hypot(x2 - x1, y2 - y1) || 1;
    // An edge the architecture does not have arcs wide, the other way, clear of the boxes.
    const side = edge.allowed ? 1 : -1;
    const nx = side * -(y2 - y1) / length, ny = side * (x2 - x1) / length;
    const bend = edge.allowed ? 28 : 80;
    const cx = mx + nx * bend, cy = my + ny * bend;
    // Stop short of the boxes.
    const sx = x1 + (cx - x1) * 0.18, sy = y1 + (cy - y1) * 0.18;
    const ex = x2 + (cx - x2) * 0.22, ey = y2 + (cy - y2) * 0.22;
    const illegal = !edge.allowed || (stats && stats.violations > 0);
    const classes = ['edge'];
    if (stats && stats.calls > 0) classes.push('used');
    if (stats && (stats.errors > 0 || stats.refused_by_breaker > 0)) classes.push('failing');
    if (illegal) classes.push('illegal');
    root.append(svg('path', {class: classes.join(' '), d: `M ${sx} ${sy} Q ${cx} ${cy} ${ex} ${ey}`,
      'marker-end': 'url(#arrow)', 'data-edge': name}));
    if (stats && (stats.calls > 0 || stats.violations > 0)) {
      const text = stats.violations > 0 && !(allowed.has(name) && stats.calls > stats.violations)
        ? `${stats.violations} refused`
        : `${stats.calls} call${stats.calls === 1 ? '' : 's'}${stats.errors ? `, ${stats.errors} err` : ''}, p99 ${Number(stats.p99_ms || 0).toFixed(0)}ms`;
      // On the curve's middle, pushed out to the side it bends to.
      const lx = (sx + 2 * cx + ex) / 4 + nx * 6, ly = (sy + 2 * cy + ey) / 4 + ny * 6;
      const anchor = Math.abs(nx) < 0.3 ? 'middle' : nx > 0 ? 'start' : 'end';
      labels.push(svg('text', {class: `label${illegal ? ' illegal' : ''}`, x: lx, y: ly + (Math.abs(nx) < 0.3 ? (ny > 0 ? 12 : -4) : 4),
        'text-anchor': anchor}, text));
    }
  }
  for (const component of architecture.components) {
    const [x, y] = positionOf(component.name);
    const down = running.has(component.name) && !running.get(component.name);
    root.append(svg('g', {class: `node${down ? ' down' : ''}`, 'data-node': component.name},
      svg('rect', {x: x - 52, y: y - 17, width: 104, height: 34, rx: 8}),
      svg('text', {x, y: y + 5}, down ? `${component.name} (down)` : component.name)));
  }
  for (const label of labels) root.append(label);  // over the boxes, with a halo
  replace($('graph'), root);

  const rows = [...all].map(([name, edge]) => {
    const stats = edges[name] || {calls: 0, errors: 0, p99_ms: 0, refused_by_breaker: 0, violations: 0};
    const illegal = !edge.allowed || stats.violations > 0;
    return h('tr', {class: illegal ? 'illegal' : null, 'data-edge': name},
      h('td', {class: 'mono'}, name),
      h('td', {}, edge.allowed ? (allowed.get(name).label || 'allowed') : 'NOT ALLOWED'),
      h('td', {class: 'num'}, stats.calls),
      h('td', {class: 'num'}, stats.errors),
      h('td', {class: 'num'}, `${Number(stats.p99_ms || 0).toFixed(1)} ms`),
      h('td', {class: 'num'}, stats.refused_by_breaker),
      h('td', {class: 'num'}, stats.violations));
  });
  replace($('edges'),
    h('thead', {}, h('tr', {}, h('th', {}, 'Edge'), h('th', {}, 'Allowed for'), h('th', {class: 'num'}, 'Calls'),
      h('th', {class: 'num'}, 'Errors'), h('th', {class: 'num'}, 'p99'), h('th', {class: 'num'}, 'Refused by breaker'),
      h('th', {class: 'num'}, 'Refused (violations)'))),
    h('tbody', {}, rows));
}

// ---- breakers, services, clock, outbox ----------------------------------------------------

function stateBadge(state) {
  const kind = state === 'CLOSED' ? 'ok' : state === 'HALF_OPEN' || state === 'METRICS_ONLY' || state === 'DISABLED' ? 'warn' : 'bad';
  return h('span', {class: `badge ${kind}`, 'data-test': 'breaker-state'}, state);
}

function drawBreakers(answer) {
  const items = [];
  const transitions = [];
  for (const [service, plane] of Object.entries(answer.services || {})) {
    if (!plane.reachable) {
      items.push(h('div', {class: 'breaker'}, h('span', {class: 'name'}, service),
        h('span', {class: 'badge bad'}, `unreachable (${plane.error})`)));
      continue;
    }
    for (const b of plane.items || []) {
      items.push(h('div', {class: 'breaker', 'data-breaker': b.name},
        h('span', {class: 'name mono'}, b.name), stateBadge(b.state),
        h('span', {class: 'muted'}, Number(b.failure_rate) < 0 ? 'no failure rate yet' : `failure rate ${Number(b.failure_rate).toFixed(0)}%`),
        h('span', {class: 'muted'}, `${b.number_of_buffered_calls} buffered, ${b.number_of_failed_calls} failed, ${b.total_not_permitted_calls} refused`),
        b.open_until ? h('span', {class: 'muted', 'data-test': 'open-until'}, waitOver(b.open_until)
          ? `its wait ended at ${shopTime(b.open_until)} (shop clock): the next call is a trial`
          : `open until ${shopTime(b.open_until)} (shop clock)`) : null));
      for (const t of b.transitions || []) transitions.push({breaker: b.name, ...t});
    }
  }
  replace($('breaker-list'), items);
  transitions.sort((a, b) => String(b.at).localeCompare(String(a.at)));
  replace($('transitions'), transitions.length
    ? transitions.slice(0, 30).map((t) => h('li', {}, h('span', {class: 'mono'}, t.breaker), ' ',
      `${t.from} → ${t.to}`, ' ', h('span', {class: 'muted', 'data-test': 'transition-at'}, `${shopTime(t.at)} (shop clock)`)))
    : h('li', {class: 'muted'}, 'none yet'));
}

// The answer says whether the service runs now: a restart that raced another one (three
// clicks, or two consoles) can answer 200 with "running": false, which was said as "restart
// done" while the service was stopped.
async function serviceAction(name, action) {
  say(`${action} ${name}…`);
  try {
    const answer = await admin('POST', `/_admin/services/${encodeURIComponent(name)}/${action}`);
    const running = answer && typeof answer.running === 'boolean' ? answer.running : null;
    const wanted = action !== 'stop' && action !== 'crash';
    if (running === null) say(`${name}: ${action} answered; its state shows below once read`);
    else if (running === wanted) say(`${name}: ${action} done, ${running ? 'running' : 'stopped'}`);
    else say(`${name}: ${action} answered, but ${name} is ${running ? 'still running' : 'stopped'} now`, true);
  } catch (error) {
    say(`${name}: ${action} failed: ${error.message}`, true);
  }
  poll();
}

function drawServices(services) {
  replace($('service-table'),
    h('thead', {}, h('tr', {}, h('th', {}, 'Service'), h('th', {}, 'State'), h('th', {}, 'URL'), h('th', {}, 'Actions'))),
    h('tbody', {}, services.map((s) => h('tr', {'data-service': s.name},
      h('td', {}, s.name),
      h('td', {}, s.running ? h('span', {class: 'badge ok'}, 'running') : h('span', {class: 'badge bad'}, 'stopped')),
      h('td', {class: 'mono'}, s.url),
      h('td', {}, s.name === 'gateway' ? h('span', {class: 'muted'}, 'serves this console') : h('div', {class: 'actions'},
        // Stop and start are one place (its data-key "power:"): the focus stays on the service's
        // button when stop is drawn again as start (a key per action dropped it to the body).
        (s.running ? ['stop', 'restart'] : ['start']).map((action) => h('button', {type: 'button', class: 'small secondary',
          'aria-label': `${action} ${s.name}`, 'data-key': `${action === 'restart' ? 'restart' : 'power'}:${s.name}`,
          on: {click: () => serviceAction(s.name, action)}}, action))))))));
  const options = (select, values, keep) => {
    const current = select.value;
    replace(select, values.map(([value, text]) => h('option', {value}, text)));
    if (keep && values.some(([value]) => value === current)) select.value = current;
  };
  if (!$('f-target').options.length) {
    options($('f-target'), services.map((s) => [s.name, s.name]));
    $('f-target').value = 'catalog';
    options($('f-from'), [['', 'anyone'], ['client', 'client (outsiders)'], ...services.map((s) => [s.name, s.name])]);
  }
}

function drawOutbox(outbox) {
  if (!outbox.reachable) {
    replace($('outbox'), h('span', {class: 'badge bad'}, `payment unreachable (${outbox.error})`));
    return;
  }
  const finished = outbox.finished || {};
  replace($('outbox'), 'Depth ', h('strong', {'data-test': 'outbox-depth'}, outbox.depth),
    h('span', {class: 'muted'}, ` (callbacks waiting for the order service; acknowledged ${finished.acknowledged ?? 0}, conflicts ${finished.conflict ?? 0})`));
}

// ---- faults -------------------------------------------------------------------------------

function describeFault(f) {
  const parts = [];
  // A delay fault's delay is said even when 0, as `fault list` says it ("0ms").
  if (typeof f.delay_ms === 'number' && (f.type === 'delay' || f.delay_ms > 0)) parts.push(`delay ${f.delay_ms} ms`);
  if (f.jitter_ms) parts.push(`± ${f.jitter_ms} ms`);
  if (f.type === 'abort') parts.push(`status ${f.status}`);
  // What an abort sends instead of the service's answer: a pasted fault whose body forged an
  // order with another pay link showed as "status 201" only (an outside probe).
  if (f.type === 'abort' && typeof f.body === 'string') {
    parts.push(f.body.length > 160 ? `body ${JSON.stringify(f.body.slice(0, 160))}…` : `body ${JSON.stringify(f.body)}`);
  }
  if (f.bytes_per_second) parts.push(`${f.bytes_per_second} B/s`);
  return parts.join(', ');
}

function drawFaults(faults) {
  replace($('fault-table'),
    h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Target'), h('th', {}, 'From'), h('th', {}, 'Match'),
      h('th', {}, 'Type'), h('th', {}, 'Parameters'), h('th', {}, 'Select'), h('th', {class: 'num'}, 'Matched / hit'), h('th', {}, h('span', {class: 'visually-hidden'}, 'Actions')))),
    h('tbody', {}, faults.length ? faults.map((f) => h('tr', {'data-fault': f.id},
      h('td', {class: 'mono'}, f.id), h('td', {}, f.target), h('td', {}, f.from || 'anyone'),
      h('td', {class: 'mono'}, f.match ? `${f.match.method || '*'} ${f.match.path || '**'}` : 'everything'),
      h('td', {}, h('span', {class: 'badge bad'}, f.type)), h('td', {}, describeFault(f)),
      h('td', {}, f.select ? Object.entries(f.select).map(([k, v]) => `${k} ${v}`).join('') : 'all'),
      h('td', {class: 'num'}, `${f.matched} / ${f.applied}`),
      h('td', {}, h('button', {type: 'button', class: 'small danger', 'aria-label': `Clear fault ${f.id}`, 'data-key': `clear:${f.id}`,
        on: {click: (event) => clearFault(f.id, event.currentTarget)}}, 'Clear'))))
      : h('tr', {}, h('td', {colspan: 9, class: 'muted'}, 'No faults: the shop behaves.'))));
}

// The cleared fault's row goes at once, and the focus, when it was on its Clear, goes to the next
// row's Clear (the one before when it was the last row), or to the faults' heading when no row
// is left: it fell to the body.
//
// A poll may redraw the table while the DELETE is under way (the row and its button are then new
// elements, or gone): the neighbours are taken by their data-keys before it, nearest first, and
// the focus counts as this fault's when it is on any Clear of this id, or was dropped to the
// body (it went to the body when a redraw came first; seen in CI).
async function clearFault(id, button) {
  const key = `clear:${id}`;
  const keys = [...$('fault-table').querySelectorAll('button[data-key^="clear:"]')].map((b) => b.dataset.key);
  const at = keys.indexOf(key);
  const neighbours = at < 0 ? [] : [...keys.slice(at + 1), ...keys.slice(0, at).reverse()];
  try {
    await admin('DELETE', `/_admin/faults/${encodeURIComponent(id)}`);
    const active = document.activeElement;
    const hadFocus = active === button || active === document.body || active?.dataset?.key === key;
    $('fault-table').querySelector(`button[data-key="${CSS.escape(key)}"]`)?.closest('tr')?.remove();
    if (hadFocus) {
      const next = neighbours.map((k) => $('fault-table').querySelector(`button[data-key="${CSS.escape(k)}"]`)).find(Boolean);
      (next || $('faults-title')).focus();
    }
    say(`Fault ${id} cleared`);
  } catch (error) {
    say(`Could not clear ${id}: ${error.message}`, true);
  }
  poll();
}

// Shows the fields the chosen type (and selector) takes, and disables the others: a value the
// form hides must not take part in the form's checks (a Status of 99 left from "abort" blocked
// "Add fault" for a delay, with no message, on a control the operator could not see).
function showFieldsForType() {
  const type = $('f-type').value;
  const show = (field, shown) => {
    field.hidden = !shown;
    for (const control of field.querySelectorAll('input, select')) control.disabled = !shown;
  };
  for (const field of document.querySelectorAll('[data-for]')) show(field, field.dataset.for.split(' ').includes(type));
  // A slow_body's delay is optional (its head at once): the delay fault's 2000 is not put on it
  // unless the operator typed a delay (every slow_body from the console waited 2 s; a probe).
  const delay = $('f-delay');
  if (!delayTyped) {
    delay.value = type === 'slow_body' ? '' : '2000';
    delay.placeholder = type === 'slow_body' ? '0 (head at once)' : '';
  }
  show(document.querySelector('[data-select]'), Boolean($('f-select').value));
}

let delayTyped = false;
$('f-delay').addEventListener('input', () => { delayTyped = true; });
$('f-type').addEventListener('change', showFieldsForType);
$('f-select').addEventListener('change', showFieldsForType);

// A number the fault needs, from its form field: an emptied field is said, not sent as 0 (an
// emptied "N or p" added a fault of probability 0 that never fired, reported as added).
class FormProblem extends Error {
  constructor(message, fieldId) {
    super(message);
    this.fieldId = fieldId;
  }
}
function requiredNumber(id, label) {
  const text = $(id).value.trim();
  if (text === '') throw new FormProblem(`${label} is empty: give a number`, id);
  const n = Number(text);
  if (!Number.isFinite(n)) throw new FormProblem(`${label} must be a number, not ${text}`, id);
  return n;
}

// The shop's answer to the last add is about the form as it was: once a field changes, it goes
// (a "match.path ..." error stayed beside a fixed path while the browser's own check refused
// another field; an outside probe).
$('fault-form').addEventListener('input', () => clearFaultError());

// The form's fields by the names the admin plane's messages use ("select.probability must be
// between 0 and 1"), with their labels: an error is said in the label's words and marks its
// field (aria-invalid, described by the message).
const FAULT_FIELDS = [
  [/^select\.(probability|first|every|after)\b/, 'f-n'], [/^delay_ms\b/, 'f-delay'], [/^jitter_ms\b/, 'f-jitter'],
  [/^status\b/, 'f-status'], [/^body\b/, 'f-body'], [/^bytes_per_second\b/, 'f-bps'], [/^match\.path\b/, 'f-path'],
  [/^match\.method\b/, 'f-method'], [/^id\b/, 'f-id'], [/^from\b/, 'f-from'], [/^target\b/, 'f-target'],
];
// Messages about a field that do not start with its key: the field is marked and the message
// gets its label in front ("a match path is a path glob ..." marked nothing; an outside probe).
const FAULT_FIELDS_NAMED_LATER = [
  [/^a match path\b/, 'f-path'], [/^no edge \S+->/, 'f-from'],
];
// The most characters a JSON string may hold in a request to the shop (its JSON reader's limit):
// a longer field is said here, by its label, not as "a JSON string exceeds 10000 characters".
const MAX_TEXT = 10000;
function labelOf(id) { return document.querySelector(`label[for="${id}"]`)?.textContent.trim() || id; }
function clearFaultError() {
  replace($('fault-error'));
  for (const field of $('fault-form').querySelectorAll('[aria-invalid]')) {
    field.removeAttribute('aria-invalid');
    field.removeAttribute('aria-describedby');
  }
}
function sayFaultError(error) {
  clearFaultError();
  clearStatus();
  let text = error.message;
  let fieldId = error instanceof FormProblem ? error.fieldId : null;
  for (const [pattern, id] of FAULT_FIELDS) {
    if (fieldId) break;
    const found = pattern.exec(text);
    if (found) {
      fieldId = id;
      text = `${labelOf(id)}${text.slice(found[0].length)}`;
    }
  }
  for (const [pattern, id] of FAULT_FIELDS_NAMED_LATER) {
    if (fieldId) break;
    if (pattern.test(text)) {
      fieldId = id;
      text = `${labelOf(id)}: ${text}`;
    }
  }
  replace($('fault-error'), h('p', {class: 'notice error', id: 'fault-error-text'}, text));
  if (fieldId) {
    $(fieldId).setAttribute('aria-invalid', 'true');
    $(fieldId).setAttribute('aria-describedby', 'fault-error-text');
  }
}

$('fault-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await addFault();
  } catch (error) {
    sayFaultError(error);
  }
  poll();
});

async function addFault() {
  const type = $('f-type').value;
  const fault = {target: $('f-target').value, type};
  if ($('f-id').value.trim()) fault.id = $('f-id').value.trim();
  if ($('f-from').value) fault.from = $('f-from').value;
  const match = {};
  if ($('f-method').value) match.method = $('f-method').value;
  if ($('f-path').value.trim()) match.path = $('f-path').value.trim();
  if (Object.keys(match).length) fault.match = match;
  for (const id of ['f-id', 'f-path', 'f-body']) {
    if ($(id).value.trim().length > MAX_TEXT) {
      throw new FormProblem(`${labelOf(id)} is longer than ${MAX_TEXT.toLocaleString('en')} characters, the most the shop takes`, id);
    }
  }
  // A delay fault needs its delay; a slow_body's is optional (its head goes at once without).
  if (type === 'delay' || (type === 'slow_body' && $('f-delay').value.trim())) fault.delay_ms = requiredNumber('f-delay', 'Delay (ms)');
  if ((type === 'delay' || type === 'slow_body') && $('f-jitter').value.trim()) {
    const jitter = requiredNumber('f-jitter', 'Jitter (ms)');
    if (jitter) fault.jitter_ms = jitter;
  }
  if (type === 'abort') {
    fault.status = requiredNumber('f-status', 'Status');
    if ($('f-body').value.trim()) fault.body = $('f-body').value.trim();
  }
  if (type === 'slow_body') fault.bytes_per_second = requiredNumber('f-bps', 'Bytes per second');
  const select = $('f-select').value;
  let body = fault;
  if (select === 'probability') {
    fault.select = {probability: requiredNumber('f-n', 'N or p')};
  } else if (select) {
    // A count is sent as its digits: up to 2^63-1, which a JavaScript number cannot hold (the
    // maximum went as 2^63 and was refused as "not a whole number from 0"; an outside probe).
    const n = $('f-n').value.trim();
    requiredNumber('f-n', 'N or p');
    if (!/^\d+$/.test(n)) throw new FormProblem(`N or p must be a whole number for “${$('f-select').selectedOptions[0].text}”, not ${n}`, 'f-n');
    body = `${JSON.stringify(fault).slice(0, -1)},"select":{"${select}":${n.replace(/^0+(?=\d)/, '')}}}`;
  }
  const answer = await admin('POST', '/_admin/faults', body);
  clearFaultError();
  say(`Fault ${answer.id} added`);
}

$('clear-faults').addEventListener('click', async () => {
  try {
    await admin('DELETE', '/_admin/faults');
    say('Every fault cleared');
  } catch (error) {
    say(`Could not clear the faults: ${error.message}`, true);
  }
  poll();
});

// A refused advance is an alert beside its field, which it marks, until the field changes or an
// advance succeeds (it was a status line gone after 4 s).
function clearClockError() {
  replace($('clock-error'));
  $('advance-by').removeAttribute('aria-invalid');
  $('advance-by').removeAttribute('aria-describedby');
}
$('advance-by').addEventListener('input', clearClockError);
$('clock-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await admin('POST', '/_admin/clock/advance', {by: $('advance-by').value.trim()});
    clearClockError();
    say(`Clock advanced by ${$('advance-by').value.trim()}`);
  } catch (error) {
    clearStatus();
    replace($('clock-error'), h('p', {class: 'notice error', id: 'clock-error-text'},
      `Could not advance the clock: ${error.message}`));
    $('advance-by').setAttribute('aria-invalid', 'true');
    $('advance-by').setAttribute('aria-describedby', 'clock-error-text');
  }
  poll();
});

// ---- recent calls -------------------------------------------------------------------------

function setTrace(trace) {
  traceFilter = trace;
  $('trace').value = trace;
  history.replaceState(null, '', trace ? `#trace=${encodeURIComponent(trace)}` : location.pathname);
  drawCalls();
  if (trace) loadTrace(trace);
}

// A trace from before the console opened: read every record the shop keeps for it.
async function loadTrace(trace) {
  try {
    const answer = await admin('GET', '/_admin/calls?since=0');
    const seen = new Set(calls.map((c) => c.seq));
    for (const record of answer.records) {
      if (record.trace_id === trace && !seen.has(record.seq)) calls.push(record);
    }
    calls.sort((a, b) => a.seq - b.seq);
  } catch (error) {
    say(`Could not read the calls: ${error.message}`, true);
  }
  drawCalls();
}

$('trace-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setTrace($('trace').value.trim());
});
$('trace-clear').addEventListener('click', () => setTrace(''));

function drawCalls() {
  const shown = calls.filter((c) => !traceFilter || c.trace_id === traceFilter).slice(-SHOWN_CALLS).reverse();
  draw($('call-table'), [traceFilter, shown.map((c) => c.seq)], () => renderCalls(shown));
}

function renderCalls(shown) {
  replace($('call-table'),
    h('thead', {}, h('tr', {}, h('th', {}, 'Time (shop clock)'), h('th', {}, 'Edge'), h('th', {}, 'Request'), h('th', {class: 'num'}, 'Status'),
      h('th', {}, 'Outcome'), h('th', {class: 'num'}, 'ms'), h('th', {}, 'Trace id'))),
    h('tbody', {}, shown.length ? shown.map((c) => h('tr', {class: c.violation ? 'illegal' : c.refused_by_breaker ? 'refused' : null,
      'data-test': 'call'},
      h('td', {}, formatTime(c.at_ms)),
      h('td', {class: 'mono'}, c.edge),
      h('td', {class: 'mono'}, `${c.method} ${c.route}`),
      h('td', {class: 'num'}, c.status || '—'),
      h('td', {}, c.violation ? `refused: ${c.violation_reason}` : c.refused_by_breaker ? 'refused by breaker' : c.outcome,
        c.attempt > 1 ? ` (attempt ${c.attempt})` : ''),
      h('td', {class: 'num'}, Number(c.duration_ms || 0).toFixed(1)),
      h('td', {}, h('button', {type: 'button', class: 'trace-link mono', title: 'Show only this trace', 'data-key': `trace:${c.seq}`,
        on: {click: () => setTrace(c.trace_id)}}, c.trace_id))))
      : h('tr', {}, h('td', {colspan: 7, class: 'muted'}, traceFilter ? 'No calls recorded for this trace.' : 'No calls yet.'))));
}

async function pollCalls() {
  if (nextSeq === null) {
    const probe = await admin('GET', '/_admin/calls?since=18446744073709551615', undefined, READ_TIMEOUT_MS);
    nextSeq = Math.max(0, probe.next_seq - KEEP_CALLS);
  }
  let answer = await admin('GET', `/_admin/calls?since=${nextSeq}`, undefined, READ_TIMEOUT_MS);
  if (answer.next_seq < nextSeq) {
    // The shop's records were numbered from 0 again: the shop (or its gateway's process)
    // restarted. The table kept the calls from before it as the most recent, for good, and
    // never showed a new one (an outside probe): it starts again from the new records.
    calls = [];
    nextSeq = Math.max(0, answer.next_seq - KEEP_CALLS);
    say('The shop\'s call records began again (the shop or its gateway restarted): the calls table shows those since.');
    answer = await admin('GET', `/_admin/calls?since=${nextSeq}`, undefined, READ_TIMEOUT_MS);
  }
  // A trace's records read earlier (loadTrace) may be among these: each record once.
  const seen = new Set(calls.map((c) => c.seq));
  calls.push(...answer.records.filter((record) => !seen.has(record.seq)));
  calls.sort((a, b) => a.seq - b.seq);
  if (calls.length > KEEP_CALLS * 3) {
    // The newest calls, and every call of the trace the table is filtered to (a busy shop's
    // newer calls pushed the filtered trace out of the console's list, and off the table).
    const newest = calls.slice(-KEEP_CALLS * 2);
    const oldestKept = newest[0].seq;
    calls = [...calls.filter((c) => traceFilter && c.trace_id === traceFilter && c.seq < oldestKept), ...newest];
  }
  nextSeq = answer.next_seq;
  if (!callsPaused) drawCalls();
}

// The calls table changes every second while the shop is busy; Pause holds it still (WCAG
// 2.2.2) while the console goes on reading, and Resume shows what came meanwhile. A filter the
// operator sets still draws.
let callsPaused = false;
$('calls-pause').addEventListener('click', () => {
  callsPaused = !callsPaused;
  $('calls-pause').setAttribute('aria-pressed', String(callsPaused));
  $('calls-pause').textContent = callsPaused ? 'Resume updates' : 'Pause updates';
  $('calls-paused').textContent = callsPaused
    ? 'Paused: new calls are read but not shown until you resume.'
    : 'The table shows new calls as they come, every second.';
  if (!callsPaused) drawCalls();
});

// ---- the loop -----------------------------------------------------------------------------

function say(text, bad) {
  replace($('status'), h('p', {class: `notice ${bad ? 'error' : 'ok'}`}, text));
  clearTimeout(say.timer);
  say.timer = setTimeout(() => replace($('status')), 4000);
}

// An action that failed says so beside its form: the last action's "added" or "advanced" must
// not stay next to it for its 4 s (an outside probe saw "Clock advanced by 1s" beside the next
// advance's refusal).
function clearStatus() {
  clearTimeout(say.timer);
  replace($('status'));
}

// One poll loop: an action (Clear, Add fault, Advance, a service's button) asks for a poll at
// once; while one is on its way, the next one starts as soon as it ends instead (each action
// started its own loop: over a slow link, 20 clicks read the shop six times as often). A poll
// that ends after its token was forgotten (or refused) says and draws nothing ("Forget token"
// during a poll said the token was refused, from the poll's answer to its token-less reads).
async function poll() {
  if (polling) { pollAgain = true; return; }
  clearTimeout(pollTimer);
  polling = true;
  pollAgain = false;
  const mine = session;
  try {
    await pollOnce(mine);
  } finally {
    polling = false;
  }
  if (!token) return;  // forgotten or refused: the token form is shown
  pollTimer = setTimeout(poll, pollAgain || mine !== session ? 0 : POLL_MS);
}

// What a poll reads, and the part of the page each read draws, where the console says when it
// is not current. Each read stands alone: one that fails (a split shop's hung process answers
// 503 process_unreachable after 10 s) leaves its own panel marked "Not current: ..." until a
// read succeeds, and the others are drawn (Promise.all drew nothing and left the old
// "running" and breaker states looking current, with a status line gone after 4 s).
const READ_TIMEOUT_MS = 5000;
const panels = {
  services: {path: '/_admin/services', place: () => $('service-table').parentElement},
  faults: {path: '/_admin/faults', place: () => $('fault-table').parentElement},
  clock: {path: '/_admin/clock', place: () => $('clock')},
  edges: {path: '/_admin/edges', place: () => $('graph')},
  breakers: {path: '/_admin/console/breakers', place: () => $('breaker-list')},
  outbox: {path: '/_admin/console/outbox', place: () => $('outbox')},
  calls: {path: '/_admin/calls', place: () => $('call-table').parentElement},
};
const lastRead = {};  // panel name -> {data, at}: the last answer that was read

function markPanel(name, error) {
  const panel = panels[name];
  const place = panel.place();
  let marker = document.querySelector(`[data-stale="${name}"]`);
  if (!error) {
    marker?.remove();
    place.classList.remove('is-stale');
    return;
  }
  const shown = lastRead[name] ? `what it shows was read at ${formatTime(lastRead[name].at)} (this browser's clock)` : 'nothing was read yet';
  const text = `Not current: could not read ${panel.path} (${error.code}: ${error.message}); ${shown}.`;
  if (!marker) {
    marker = h('p', {class: 'notice error stale', 'data-test': 'stale', 'data-stale': name});
    place.before(marker);
    say(`Could not read ${panel.path}: ${error.message}`, true);  // said once, when it goes stale
  }
  if (marker.textContent !== text) marker.textContent = text;
  place.classList.add('is-stale');
}

async function pollOnce(mine) {
  const names = ['services', 'faults', 'clock', 'edges', 'breakers', 'outbox'];
  const results = await Promise.allSettled([
    ...names.map((name) => admin('GET', panels[name].path, undefined, READ_TIMEOUT_MS)), pollCalls()]);
  if (mine !== session) return;
  if (results.some((result) => result.status === 'rejected' && result.reason.status === 401)) {
    token = null;
    askForToken('The admin token was refused; enter it again.');
    return;
  }
  const drawers = {
    services: (services) => draw($('services'), services.items, drawServices),
    faults: (faults) => draw($('fault-table'), faults.items, drawFaults),
    clock: (clock) => {
      shopOffsetMs = Number(clock.now_ms) - Date.now();
      replace($('clock'),
        `Shop time ${formatTime(clock.now_ms)}, ahead of real time by ${Math.round(clock.offset_ms / 1000)} s`);
    },
    edges: () => {},
    // With whether each OPEN breaker's wait is over: that changes with time alone, and the
    // panel said "open until" a time long past (an outside probe).
    breakers: (breakers) => draw($('breakers'), [breakers, Object.values(breakers.services || {})
      .flatMap((plane) => (plane.items || []).map((b) => b.open_until ? waitOver(b.open_until) : null))],
    ([data]) => drawBreakers(data)),
    outbox: (outbox) => draw($('outbox'), outbox, drawOutbox),
  };
  names.forEach((name, i) => {
    const result = results[i];
    if (result.status === 'rejected') { markPanel(name, result.reason); return; }
    try {
      drawers[name](result.value);
      lastRead[name] = {data: result.value, at: Date.now()};
      markPanel(name, null);
    } catch {
      markPanel(name, {code: 'unreadable_answer', message: 'an answer the console cannot read'});
    }
  });
  // The graph needs the edges, and the services for which are down: the last of each read.
  if (lastRead.edges && (results[names.indexOf('edges')].status === 'fulfilled' || results[0].status === 'fulfilled')) {
    try {
      draw($('architecture'), [lastRead.edges.data.edges, lastRead.services?.data.items || []],
        ([e, s]) => drawArchitecture(e, s));
    } catch {
      markPanel('edges', {code: 'unreadable_answer', message: 'an answer the console cannot read'});
    }
  }
  const callsRead = results.at(-1);
  if (callsRead.status === 'fulfilled') lastRead.calls = {at: Date.now()};
  markPanel('calls', callsRead.status === 'rejected' ? callsRead.reason : null);
}

async function start() {
  // Another token may be another shop: nothing read from the one before is kept.
  calls = [];
  nextSeq = null;
  $('token-form').hidden = true;
  $('console').hidden = false;
  $('forget').hidden = false;
  // The form the focus was in is hidden: the focus goes to the console's heading (it fell to
  // the page's body).
  $('console-title').focus({preventScroll: true});
  showFieldsForType();
  try {
    architecture = await admin('GET', '/_admin/console/architecture');
  } catch (error) {
    if (error.status === 401) { token = null; askForToken('The admin token was refused.'); return; }
    say(`Could not read the architecture: ${error.message}`, true);
    architecture = {components: [], allowed_edges: []};
  }
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('trace');
  if (fromHash) setTrace(fromHash);
  await poll();
  if (fromHash) $('calls').scrollIntoView();
}

// The address is the filter's: a #trace= typed or followed sets it, and one cleared or edited
// by hand (or by Back) clears it, as the Clear button does. Before the token is given the
// console is not drawn yet, and reads the address when it opens.
// The console's own section links (#calls, #faults, "Skip to content") are fragments too: they
// leave the filter as it is (following one cleared the trace a shopper's error had linked to).
window.addEventListener('hashchange', () => {
  if (!token) return;
  const params = new URLSearchParams(location.hash.slice(1));
  if (location.hash.length > 1 && !params.has('trace')) return;
  const trace = params.get('trace') || '';
  if (trace !== traceFilter) setTrace(trace);
});

// Older consoles kept the token in sessionStorage: forget any copy left there.
sessionStorage.removeItem('shopctl.admin_token');
askForToken();
