// The provider's hosted pay page. It reads the intent (GET /pay/{id}, JSON), pays it
// (POST /pay/{id} {card_number}) and then offers the way back to the shop's return_url, which
// the provider checked leads to the shop's public door.
// The script runs: the notice for a page whose script never started goes (index.html).
document.getElementById('boot-failed')?.remove();

// The intent's id from the address; null when the link is not valid percent-encoding
// (/pay/%FF: decodeURIComponent threw at the top level, and the page stayed on "Loading…"),
// or names no one intent (/pay, /pay/, /pay/pi_x/more: the provider answers them with this
// page too).
function intentFromPath() {
  const segments = location.pathname.split('/').filter(Boolean);
  if (segments.length !== 2) return null;
  try {
    return decodeURIComponent(segments[1]) || null;
  } catch {
    return null;
  }
}
const intentId = intentFromPath();
const returnUrl = new URLSearchParams(location.search).get('return_url');
const amount = document.getElementById('amount');
const message = document.getElementById('message');
const form = document.getElementById('pay-form');
const card = document.getElementById('card');
const payButton = document.getElementById('pay');

// Says `text`; with `focus`, the focus goes to it (the form it was in is hidden: it fell to the
// page's body, and a keyboard user started again from the top).
function show(kind, text, {focus = false} = {}) {
  const p = document.createElement('p');
  p.className = `notice ${kind}`;
  p.textContent = text;
  message.replaceChildren(p);
  if (focus) {
    message.tabIndex = -1;
    message.focus();
  }
}

function money(cents, currency) {
  try {
    return new Intl.NumberFormat('en-IE', {style: 'currency', currency}).format(Number(cents) / 100);
  } catch {
    return `${(Number(cents) / 100).toFixed(2)} ${currency}`;
  }
}

let checkedReturnUrl = null;
const testCards = document.querySelector('.cards');

// How long the page waits for the provider's answer, its body included: a provider that hung
// left "Paying…" on a disabled button for good, with no word and no way back (an outside
// probe). Past it the request is given up (a Timeout error) and the page says so.
const ANSWER_WITHIN_MS = 15000;
async function exchange(url, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('no answer in time', 'TimeoutError')),
    ANSWER_WITHIN_MS);
  try {
    const response = await fetch(url, {...options, signal: controller.signal});
    const answer = await response.json().catch((error) => {
      if (controller.signal.aborted) throw error;
      return null;
    });
    return {response, answer};
  } finally {
    clearTimeout(timer);
  }
}
function timedOut(error) {
  return error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

// What the page says after the intent was decided: where the shopper goes next.
function afterwards() {
  return checkedReturnUrl ? 'Go back to the shop when you are ready.' : 'You can close this page and return to the shop.';
}

// The way back to the shop's return_url, which the shopper takes when they are ready: the page
// does not leave by itself (it went 800 ms after the result, before a screen reader had said
// it; WCAG 2.2.1). The link has the focus. It goes with location.replace, not as a plain link:
// the pay page leaves the history, so Back from the shop's order page goes to where the
// shopper was before paying, not to this page, which would send them on to the order again.
function goBack() {
  if (!checkedReturnUrl) return;
  const link = document.createElement('a');
  link.href = checkedReturnUrl;
  link.className = 'back';
  link.dataset.test = 'back-to-shop';
  link.textContent = 'Back to the shop';
  link.addEventListener('click', (event) => {
    event.preventDefault();
    location.replace(checkedReturnUrl);
  });
  message.append(link);
  link.focus();
}

async function load() {
  const query = returnUrl ? `?return_url=${encodeURIComponent(returnUrl)}` : '';
  let response;
  let answer;
  try {
    ({response, answer} = await exchange(`/pay/${encodeURIComponent(intentId)}${query}`,
      {headers: {Accept: 'application/json'}}));
  } catch (error) {
    testCards.hidden = true;
    form.hidden = true;
    amount.textContent = '';
    // Focused: the form it hid may have had the focus (a Pay pressed from the keyboard).
    show('bad', timedOut(error)
      ? 'The payment provider did not answer in time. Reload the page in a moment to see how the payment stands.'
      : 'The payment provider could not be reached. Reload the page in a moment to see how the payment stands.',
    {focus: true});
    return false;
  }
  // An intent as the provider gives it; anything else (a proxy's page, a fault's {}) is said
  // plainly rather than drawn as "€NaN".
  const intent = answer && typeof answer === 'object' ? answer : null;
  if (response.ok && !(intent && typeof intent.status === 'string' && Number.isInteger(intent.amount_cents))) {
    testCards.hidden = true;
    amount.textContent = '';
    show('bad', 'Sorry, the provider sent an answer this page cannot read. Reload the page to try again.');
    return;
  }
  if (!response.ok || !intent) {
    // No intent to pay (unknown, or a refused return_url): the test cards would fill nothing.
    testCards.hidden = true;
    amount.textContent = '';
    const code = intent && intent.error && intent.error.code;
    // The provider's message names the id it did not find, and the id is whatever the link
    // says: "/pay/Your card is blocked, call ..." was shown as the provider's own words on
    // its own page (an outside probe). The page says it in words of its own.
    show('bad', code === 'intent_not_found'
      ? 'This pay link names no payment the provider knows: it may be mistyped or cut short. Go back to the shop and pay from your order.'
      : (intent && intent.error && intent.error.message) || `The provider answered ${response.status}.`);
    return;
  }
  checkedReturnUrl = intent.return_url || null;
  amount.textContent = money(intent.amount_cents, intent.currency);
  if (intent.status === 'requires_payment') {
    form.hidden = false;
    payButton.disabled = false;
    payButton.textContent = 'Pay';
    card.focus();
    return 'requires_payment';
  } else {
    // Paid or declined already (in another tab, say): nothing to fill in any more.
    form.hidden = true;
    testCards.hidden = true;
    const done = {succeeded: 'This payment has already succeeded.', failed: 'This payment was already declined.',
      canceled: 'This payment was canceled: the shop stopped waiting for it (the order expired, say), and nothing was charged.'}[intent.status] || `This payment is ${intent.status.replace('_', ' ')}.`;
    show(intent.status === 'succeeded' ? 'ok' : 'bad', `${done} ${afterwards()}`, {focus: true});
    goBack();
    return 'decided';
  }
}

// A changed card number is no longer the one the error was about.
function clearCardError() {
  card.removeAttribute('aria-invalid');
  card.removeAttribute('aria-describedby');
}
card.addEventListener('input', clearCardError);

for (const choice of document.querySelectorAll('.card-choice')) {
  choice.addEventListener('click', () => {
    card.value = choice.dataset.card;
    clearCardError();
    card.focus();
  });
}

// The payment may have been taken: the page reads the intent again and says how it stands
// (paid, declined, or still to pay: then the form is back, and paying again is safe, as the
// provider takes one payment per intent). `why`: what happened to the Pay request.
async function recheck(why) {
  show('bad', `${why}. Checking how the payment stands…`);
  const read = await load();
  if (read === 'requires_payment') {
    show('bad', `${why}, and it has taken no payment for this order: you can try again.`);
  } else if (read !== 'decided') {
    form.hidden = true;  // no word of how it stands: load() said to reload the page
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const number = card.value.replace(/[\s-]/g, '');
  payButton.disabled = true;
  payButton.textContent = 'Paying…';
  try {
    const {response, answer} = await exchange(`/pay/${encodeURIComponent(intentId)}`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({card_number: number}),
    });
    // Decided meanwhile: paid or declined in another tab (intent_already_processed), or
    // canceled because the shop stopped waiting (the order expired: intent_canceled). The page
    // reads the intent again and says how it ended, without the form or the test cards, and
    // goes back (it said the error and kept the form and an enabled Pay button).
    const code = answer && answer.error && answer.error.code;
    if (!response.ok && (code === 'intent_already_processed' || code === 'intent_canceled')) {
      load();
      return;
    }
    // A 5xx says nothing of whether the payment was taken, and its words are the provider's or
    // a proxy's ("fault pay-500 answered 500" was shown to the shopper; an outside probe): the
    // intent is read again and the page says how it stands.
    if (response.status >= 500) {
      await recheck(`The payment provider had a problem (it answered ${response.status})`);
      return;
    }
    if (!response.ok) {
      // Said to a shopper, not in the API's words ("card_number must be 16 digits").
      const field = answer && answer.error && answer.error.details && answer.error.details.field;
      const said = code === 'invalid_card' && field === 'card_number'
        ? 'Enter the card number: 16 digits, or use one of the test cards below.'
        : code === 'invalid_field' && field === 'card_number'
          ? 'Enter the card number: 16 digits.'
          : null;
      show('bad', said || (answer && answer.error && answer.error.message) || `The provider answered ${response.status}.`);
      // An error about the card number is tied to its field, as the shop's are (frontend.md):
      // it was said in the alert only (an outside probe).
      if (field === 'card_number') {
        card.setAttribute('aria-invalid', 'true');
        card.setAttribute('aria-describedby', 'message');
      }
      payButton.disabled = false;
      payButton.textContent = 'Pay';
      // Disabled while it paid, the button had dropped the focus to the page's body: the card
      // number, which is what to fix, gets it.
      card.focus();
      return;
    }
    // A 200 the page cannot read (not JSON, or no outcome in it) says nothing of how the
    // payment ended: the intent is read again, as after a timeout. It hid the form and said
    // "could not be reached. Try again" with nothing to try again with, or "declined" for an
    // intent still to pay (an outside probe).
    const outcome = answer && typeof answer === 'object' ? answer.status : undefined;
    if (outcome !== 'succeeded' && outcome !== 'failed') {
      await recheck('The payment provider answered in a way this page cannot read');
      return;
    }
    form.hidden = true;
    testCards.hidden = true;
    if (outcome === 'succeeded') show('ok', `Payment succeeded. ${afterwards()}`, {focus: true});
    else show('bad', `Payment declined (${typeof answer.failure_reason === 'string' ? answer.failure_reason : 'failed'}). Nothing was charged. ${afterwards()}`, {focus: true});
    goBack();
  } catch (error) {
    if (timedOut(error)) {
      await recheck('The payment provider did not answer in time');
      return;
    }
    // No answer: the request may have reached the provider, which may have taken the payment
    // before the connection was lost. It said "could not be reached. Try again" of a payment
    // that had gone through (an outside probe): the intent is read again, as after a timeout.
    await recheck('The connection to the payment provider was lost before it answered');
  }
});

if (intentId === null) {
  testCards.hidden = true;
  amount.textContent = '';
  show('bad', 'This is not a valid pay link: it names no payment intent. Go back to the shop and pay from your order.');
} else {
  load();
}
