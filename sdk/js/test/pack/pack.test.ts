/**
 * Done means: `npm pack` of the SDK installs into an empty project (offline: there is
 * nothing to fetch, no runtime dependency) and imports in Node, without a window, with
 * the seed's classes and methods.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'sdkjs-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PROBE = `
const sdk = await import('@streamline/cross-app-sdk');
const react = await import('@streamline/cross-app-sdk/react');
const auth = new sdk.CrossAppAuthSDK({ appId: 'a', issuer: 'https://idp.example', redirectUrl: 'https://app.example/cb' });
const methods = (cls) => Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor' && !n.startsWith('_'));
console.log(JSON.stringify({
  window: typeof window,
  exports: Object.keys(sdk).sort(),
  react: Object.keys(react),
  auth: methods(sdk.CrossAppAuthSDK),
  credits: methods(sdk.CreditSDK),
  payments: methods(sdk.PaymentSDK),
  authenticated: await auth.isAuthenticated(),
  login: await auth.login().catch((e) => e.code),
}));
`;

describe('npm pack', () => {
  it('installs into an empty project and imports in Node without a window', async () => {
    const { stdout } = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: root });
    // prepack (the build) prints its sizes first; npm's JSON follows.
    const [{ filename, files }] = JSON.parse(stdout.slice(stdout.search(/^\[/m)));
    const paths = files.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/react.js', 'dist/react.d.ts']));
    expect(paths.some((p: string) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);

    const project = join(work, 'app');
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-app', private: true, type: 'module' }));
    // React is the /react entry's (optional) peer: the app brings it, here as a tarball of
    // the copy `npm ci` installed (a version spec would need npm's cached registry
    // metadata, which `npm ci` never fetches).
    const packed = await run('npm', ['pack', join(root, 'node_modules/react'), '--pack-destination', work, '--json'], { cwd: work });
    const [{ filename: reactTarball }] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m)));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, filename), join(work, reactTarball)], { cwd: project });
    expect(existsSync(join(project, 'node_modules/@streamline/cross-app-sdk/dist/index.d.ts'))).toBe(true);

    writeFileSync(join(project, 'probe.mjs'), PROBE);
    const probe = JSON.parse((await run(process.execPath, ['probe.mjs'], { cwd: project })).stdout);
    expect(probe.window).toBe('undefined');
    expect(probe.exports).toEqual(expect.arrayContaining(['CrossAppAuthSDK', 'CreditSDK', 'PaymentSDK', 'completePopupLogin', 'SDKError', 'InsufficientCreditsError']));
    expect(probe.auth).toEqual(expect.arrayContaining([
      'isAuthenticated', 'getCurrentUser', 'login', 'logout', 'refreshToken', 'onAuthChange',
      'handleRedirectCallback', 'getAccessToken', 'dispose',
    ]));
    expect(probe.credits).toEqual(expect.arrayContaining([
      'getCreditBalance', 'getCreditPackages', 'hasSufficientCredits', 'consumeCredits', 'purchaseCredits', 'getTransactions',
    ]));
    expect(probe.payments).toEqual(expect.arrayContaining(['checkout', 'openBillingPortal', 'getSubscription']));
    expect(probe.react).toEqual(expect.arrayContaining(['CrossAppProvider', 'useAuth', 'useCredits', 'CrossAppLogin', 'ErrorModal']));
    expect(probe.authenticated).toBe(false);
    expect(probe.login).toBe('not_in_browser');
  }, 120_000);
});
