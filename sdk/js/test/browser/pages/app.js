// The partner app of the browser tests: the SDK as a partner would use it.
import { CreditSDK, PaymentSDK } from '/dist/index.js';
import { makeAuth } from '/sdk-config.js';

export const auth = makeAuth();
export const credits = new CreditSDK(auth);
export const payments = new PaymentSDK(auth);

// What the tests read: every event, and the outcome of every button.
const log = { events: [], results: [] };
window.app = { auth, credits, payments, log };
for (const name of ['login', 'logout', 'tokenRefreshed', 'creditsChanged', 'error']) {
  auth.on(name, (payload) => log.events.push({ name, payload: name === 'error' ? payload.error.code : payload }));
}
auth.onAuthChange((user) => {
  document.getElementById('who').textContent = user ? `signed in as ${user.email}` : 'signed out';
});
auth.on('creditsChanged', (state) => {
  document.getElementById('balance').textContent = `balance ${state.available}`;
});

function record(name, promise) {
  promise.then(
    (value) => log.results.push({ name, ok: true, value }),
    (error) => log.results.push({ name, ok: false, code: error.code, message: error.message }),
  );
}

// Each handler calls the SDK synchronously: the popup opens inside the click.
const on = (id, fn) => document.getElementById(id).addEventListener('click', fn);
on('login', () => record('login', auth.login()));
on('signup', () => record('signup', auth.login({ screen: 'signup', next: 'purchase' })));
on('buy', () => record('buy', credits.purchaseCredits({ packageId: 'starter' })));
on('subscribe', () => record('subscribe', payments.checkout('monthly')));
on('consume', () => record('consume', credits.consumeCredits(5, 'browser-test')));
on('logout', () => record('logout', auth.logout()));

// An app that signs in on start, without a click (no user activation): the popup is blocked.
if (new URLSearchParams(window.location.search).has('autologin')) record('login', auth.login());

// Silent sign-in on start (a top-level prompt=none redirect, no iframe).
if (new URLSearchParams(window.location.search).has('silent')) record('silent', auth.signInSilently());

auth.getCurrentUser().then((user) => {
  document.getElementById('who').textContent = user ? `signed in as ${user.email}` : 'signed out';
  document.body.dataset.ready = 'true';
});
