// Bolt Notes: single sign-on with the SDK's build, no framework. On start it asks the
// IdP without showing a page (signInSilently: a top-level prompt=none redirect, no
// iframe); someone already signed in at the IdP comes back signed in here. The first
// visit still needs the person's consent for this app: "Continue" opens the consent page
// in a popup (no password: the IdP session is there).
import { CreditSDK, CrossAppAuthSDK } from '/sdk/index.js';

export function makeAuth() {
  const { issuer, clientId } = window.SSO_CONFIG;
  return new CrossAppAuthSDK({
    appId: clientId,
    issuer,
    redirectUrl: `${window.location.origin}/callback.html`,
    // offline_access: a refresh token, so the session outlives the page (and reloads).
    scopes: 'openid profile email offline_access credits:read',
    storage: 'session',
  });
}

function start() {
  const auth = makeAuth();
  const credits = new CreditSDK(auth);
  const $ = (id) => document.getElementById(id);
  const show = (user) => {
    $('who').textContent = user ? `Signed in as ${user.email}` : 'Not signed in';
    $('continue').hidden = Boolean(user);
    $('logout').hidden = !user;
    $('balance').textContent = '';
    if (user) credits.getCreditBalance().then((s) => ($('balance').textContent = `Your credits: ${s.available}`));
  };
  auth.onAuthChange(show);
  $('continue').onclick = () => auth.login().catch((e) => ($('who').textContent = `Not signed in (${e.code})`));
  $('logout').onclick = () => auth.logout();
  auth.signInSilently().then(async (leaving) => {
    if (!leaving) show(await auth.getCurrentUser());
  });
}

if (document.getElementById('who')) start();
