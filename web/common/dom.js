// Small DOM helpers shared by the shop and the console. Every piece of text goes in through
// textContent or an attribute set by setAttribute: nothing the server sends is ever parsed as
// HTML, so a product called "<script>..." shows as those characters (docs/frontend.md).

// h('a', {href: '#/cart', class: 'btn'}, 'Cart', child...) -> element. Attributes whose value
// is null, undefined or false are left out; `true` sets an empty attribute. `on` takes
// {event: handler}. Children are nodes or text (numbers too); null and false are skipped.
export function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replaces every child of `node` with `children`.
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// 1290, "EUR" -> "€12.90" (integer cents, never a float sum).
export function money(cents, currency) {
  const value = Number(cents) / 100;
  try {
    return new Intl.NumberFormat('en-IE', {style: 'currency', currency: currency || 'EUR'}).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency || ''}`.trim();
  }
}

// A random id for Idempotency-Key (crypto.randomUUID needs a secure context; 127.0.0.1 is one,
// another host over plain HTTP is not).
export function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return '';
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? String(ms) : date.toLocaleString('en-GB');
}
