// The registered redirect URI. In the sign-in popup this hands the answer to the app's
// window and closes; after a redirect sign-in (popup blocked) it completes here.
import { completePopupLogin } from '@streamline/cross-app-sdk';
import { loadConfig, makeAuth } from './config';

if (!completePopupLogin()) {
  loadConfig()
    .then((config) => makeAuth(config).handleRedirectCallback())
    .then(
      (result) => window.location.replace(result.returnTo ?? '/'),
      (error: { code?: string; message?: string }) => {
        document.getElementById('status')!.textContent = `Sign-in failed: ${error.code ?? error.message}`;
      },
    );
}
