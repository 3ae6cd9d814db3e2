/**
 * Done means: the quick start of docs/sdk/react.md, pasted into a Vite React app, signs
 * in and shows the balance.  The doc's blocks (marked `<!-- quickstart: PATH -->`) are
 * written into an empty Vite project as they are, with only the IdP's URL and the client
 * id of this run put in; built by Vite, served on another origin, driven in Chromium
 * against the real IdP: sign in in the popup, the balance, spend, the insufficient-credits
 * modal, buy a pack through the simulated checkout; and with the popup blocked, the
 * redirect sign-in the provider completes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './global-setup';
import { closed, env, launch, signIn, sql } from './harness';

const sdkRoot = resolve(__dirname, '../..');
const repoRoot = resolve(sdkRoot, '../..');
const work = mkdtempSync(join(tmpdir(), 'sdkjs-quickstart-'));
const CLIENT = 'quickstart-app';
const EMAIL = 'quickstart@example.com';
let server: Server;
let origin: string;
let browser: Browser;

/** The doc's marked code blocks: path → source. */
export function quickstartBlocks(markdown: string): Record<string, string> {
  const blocks: Record<string, string> = {};
  for (const match of markdown.matchAll(/<!-- quickstart: (\S+) -->\s*```\w*\n([\s\S]*?)```/g)) blocks[match[1]!] = match[2]!;
  return blocks;
}

function serve(root: string): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const instance = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((ok) => instance.listen(0, '127.0.0.1', () => ok(instance)));
}

beforeAll(async () => {
  const blocks = quickstartBlocks(readFileSync(join(repoRoot, 'docs/sdk/react.md'), 'utf8'));
  expect(Object.keys(blocks).sort()).toEqual(['src/App.tsx', 'src/main.tsx']);
  // What `npm create vite -- --template react-ts` gives, less the demo content.
  writeFileSync(join(work, 'index.html'), '<!doctype html><html lang="en"><head><meta charset="UTF-8"><title>Vite + React</title></head><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>');
  for (const [path, source] of Object.entries(blocks)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), path === 'src/main.tsx' ? source.replace("'http://127.0.0.1:5000'", JSON.stringify(env.issuer)).replace("'my-app'", JSON.stringify(CLIENT)) : source);
  }
  const { build } = await import('vite');
  await build({
    root: work,
    logLevel: 'warn',
    configFile: false,
    mode: 'production',
    // The SDK as the app would import it from the package (its built entry points).
    resolve: {
      alias: [
        { find: /^@streamline\/cross-app-sdk\/react$/, replacement: join(sdkRoot, 'dist/react.js') },
        { find: /^@streamline\/cross-app-sdk$/, replacement: join(sdkRoot, 'dist/index.js') },
        { find: /^react-dom\/client$/, replacement: join(sdkRoot, 'node_modules/react-dom/client.js') },
        { find: /^react\/jsx-runtime$/, replacement: join(sdkRoot, 'node_modules/react/jsx-runtime.js') },
        { find: /^react\/jsx-dev-runtime$/, replacement: join(sdkRoot, 'node_modules/react/jsx-dev-runtime.js') },
        { find: /^react$/, replacement: join(sdkRoot, 'node_modules/react/index.js') },
      ],
    },
    build: { outDir: join(work, 'dist'), emptyOutDir: true },
  });
  server = await serve(join(work, 'dist'));
  origin = `http://localhost:${(server.address() as { port: number }).port}`;
  const cliEnv = {
    ...process.env,
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: process.env.SDK_TEST_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    IDP_ISSUER: env.issuer,
    IDP_ENV: 'development',
    IDP_PAYMENTS: 'simulated',
    IDP_INSTANCE_PATH: work,
  };
  await cli(cliEnv, [
    ['apps', 'create', '--name', 'Quick start', '--type', 'public', '--client-id', CLIENT, '--origin', origin, '--redirect-uri', `${origin}/`,
      '--scope', 'openid profile email offline_access credits:read credits:consume credits:purchase', '--audience', origin],
    ['users', 'create', '--email', EMAIL, '--password', env.password, '--verified'],
    ['wallet', 'grant', '--email', EMAIL, '--credits', '15', '--reason', 'quick start test'],
  ]);
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  rmSync(work, { recursive: true, force: true });
});

describe('the React quick start (docs/sdk/react.md)', () => {
  it('signs in, shows the balance, spends, shows the insufficient-credits modal, buys a pack', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('dialog', (dialog) => {
      errors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${origin}/`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await signIn(popup, EMAIL);
    await closed(popup);
    await page.getByText(`Signed in as`).waitFor();
    await expect.poll(() => page.textContent('#balance')).toBe('Balance: 15 credits');

    await page.getByRole('button', { name: 'Generate (10 credits)' }).click();
    await expect.poll(() => page.textContent('#balance')).toBe('Balance: 5 credits');
    await page.getByRole('button', { name: 'Generate (10 credits)' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    expect(await dialog.getAttribute('aria-modal')).toBe('true');
    expect(await dialog.textContent()).toContain('You have 5 credits available');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    const [checkout] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: /^Buy Starter: 50 credits/ }).click()]);
    await checkout.locator('li[data-package-id="starter"]').getByRole('button', { name: 'Buy' }).click();
    await checkout.getByRole('heading', { level: 1, name: 'Simulated checkout' }).waitFor();
    await checkout.getByRole('button', { name: /^Pay/ }).click();
    await closed(checkout);
    await expect.poll(() => page.textContent('#balance')).toBe('Balance: 55 credits');
    const rows = await sql("SELECT w.balance FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.email = %s", EMAIL);
    expect(Number(rows[0]!.balance)).toBe(55);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('a blocked popup continues as a redirect sign-in, completed by the provider on the page', async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    // A blocker that refuses even a click's popup (as some extensions and in-app browsers do).
    await context.addInitScript(() => {
      window.open = () => null;
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${origin}/`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.origin === env.issuer);
      await page.getByLabel('Email address').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(env.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // A consent page only if the app was not allowed before (the test above allows it).
      const back = page.waitForURL((url) => url.origin === origin);
      const allow = page.getByRole('button', { name: 'Allow' });
      await Promise.race([back, allow.waitFor().then(() => allow.click(), () => undefined)]);
      await back;
      await page.getByText('Signed in as').waitFor();
      await expect.poll(() => page.textContent('#balance')).toMatch(/^Balance: \d+ credits$/);
      // The answer was used once and taken out of the address bar (a reload cannot replay it).
      expect(new URL(page.url()).search).toBe('');
      await page.reload();
      await page.getByText('Signed in as').waitFor(); // storage: 'session' keeps it
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
