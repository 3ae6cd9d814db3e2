/**
 * What a person and the partner app do in the browser tests: Debian's Chromium driven by
 * playwright-core (never a downloaded browser), the hosted pages filled in by label, the
 * partner page's buttons clicked (so popups open inside a real user gesture), and the
 * IdP's database read for what the server recorded.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';

const run = promisify(execFile);
export const env = inject('env');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The network is closed: without these Chromium keeps dialling Google services.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium; `blockPopups` keeps Chromium's own popup blocker on (Playwright turns it off). */
export function launch(options: { blockPopups?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ...(options.blockPopups ? { ignoreDefaultArgs: ['--disable-popup-blocking'] } : {}),
  });
}

export interface AppPage {
  page: Page;
  errors: string[];
}

/** The partner's page in a tab; collects script errors (none may happen). */
export async function openApp(context: BrowserContext, query = ''): Promise<AppPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('dialog', (dialog) => {
    errors.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`${env.appOrigin}/index.html${query}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, errors };
}

/** Click a button of the partner page and return the popup it opened. */
export async function clickForPopup(page: Page, buttonId: string): Promise<Page> {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click(`#${buttonId}`)]);
  return popup;
}

/** Resolves once the popup has closed (it may already have). */
export function closed(popup: Page): Promise<unknown> {
  return popup.isClosed() ? Promise.resolve() : popup.waitForEvent('close', { timeout: 20_000 }).catch((error) => {
    if (!popup.isClosed()) throw error;
  });
}

/** The outcome of a button, once its promise settled. */
export async function result(page: Page, name: string): Promise<{ ok: boolean; code?: string; value?: unknown; message?: string }> {
  const handle = await page.waitForFunction((n) => (window as any).app.log.results.find((r: any) => r.name === n), name, { timeout: 30_000 });
  return handle.jsonValue();
}

export async function events(page: Page, name?: string): Promise<Array<{ name: string; payload: unknown }>> {
  const all = await page.evaluate(() => (window as any).app.log.events);
  return name ? all.filter((e: { name: string }) => e.name === name) : all;
}

/** A person signing in on the hosted page, then allowing the app on the consent page. */
export async function signIn(popup: Page, email: string): Promise<void> {
  await popup.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await popup.getByLabel('Email address').fill(email);
  await popup.getByLabel('Password', { exact: true }).fill(env.password);
  await popup.getByRole('button', { name: 'Sign in' }).click();
  await allow(popup);
}

/** Allow the app on the consent page; a consent given before skips the page (the popup may close at once). */
export async function allow(popup: Page): Promise<void> {
  const button = popup.getByRole('button', { name: 'Allow' });
  const shown = await Promise.race([
    button.waitFor().then(() => true, () => false),
    closed(popup).then(() => false),
  ]);
  if (shown) await button.click();
}

/** The verification code the IdP "mailed" to `email` (development: mail goes to its log). */
export async function mailedCode(email: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const log = readFileSync(env.logFile, 'utf8');
    const start = log.lastIndexOf(`To: ${email}`);
    const code = start >= 0 ? /\b(\d{6})\b/.exec(log.slice(start, start + 2000)) : null;
    if (code) return code[1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${email} in the IdP log`);
}

/** Rows of a query against the IdP's database (through the venv's psycopg), as JSON. */
export async function sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]> {
  const script = [
    'import json, sys, psycopg',
    'from psycopg.rows import dict_row',
    'with psycopg.connect(sys.argv[1], row_factory=dict_row) as c:',
    '    rows = c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()',
    'print(json.dumps(rows, default=str))',
  ].join('\n');
  const { stdout } = await run(join(env.venvBin, 'python'), ['-c', script, env.databaseUrl, query, JSON.stringify(params)]);
  return JSON.parse(stdout) as T[];
}

/** Sign `email` in through the popup; resolves once the partner page has the user. */
export async function popupLogin(app: AppPage, email: string): Promise<void> {
  const popup = await clickForPopup(app.page, 'login');
  await signIn(popup, email);
  await closed(popup);
  const outcome = await result(app.page, 'login');
  if (!outcome.ok) throw new Error(`login failed: ${outcome.code} ${outcome.message}`);
}
