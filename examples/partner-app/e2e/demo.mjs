/**
 * Starts `make demo`'s script (examples/demo.py) on free ports and reads the URLs it
 * prints; drives Debian's Chromium with playwright-core (never a downloaded browser).
 * With TEST_DATABASE_URL the IdP runs on PostgreSQL (database `test_r13b`, dropped and
 * recreated) and Redis (db 14 of TEST_REDIS_URL's server, flushed); without it, on
 * SQLite in a temporary instance folder, as `make demo` does.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
const python = resolve(process.env.IDP_VENV_BIN ?? join(repoRoot, '.venv/bin'), 'python');
export const PASSWORD = 'correct horse battery';
const DATABASE = 'test_r13b';
const REDIS_DB = 14;

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** `test_r13b` on TEST_DATABASE_URL's server, fresh; Redis db 14, flushed. */
async function services() {
  if (!process.env.TEST_DATABASE_URL) return [];
  const database = new URL(process.env.TEST_DATABASE_URL);
  const maintenance = new URL(database);
  maintenance.pathname = '/postgres';
  database.pathname = `/${DATABASE}`;
  const redis = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0');
  redis.pathname = `/${REDIS_DB}`;
  const script = [
    'import sys, psycopg, redis',
    'from psycopg import sql',
    'with psycopg.connect(sys.argv[1], autocommit=True) as c:',
    '    c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(sys.argv[2])))',
    '    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(sys.argv[2])))',
    'redis.Redis.from_url(sys.argv[3]).flushdb()',
  ].join('\n');
  await run(python, ['-c', script, maintenance.toString(), DATABASE, redis.toString()]);
  return ['--database-url', database.toString(), '--redis-url', redis.toString()];
}

/**
 * The demo, as `make demo` runs it (build included), on free ports. Resolves once it
 * printed "demo ready", with the URLs it printed and a reader of its output.
 */
export async function startDemo() {
  const [idp, app, sso] = [await freePort(), await freePort(), await freePort()];
  const instance = mkdtempSync(join(tmpdir(), 'partner-demo-'));
  const args = ['examples/demo.py', '--idp-port', idp, '--app-port', app, '--sso-port', sso, '--instance', instance];
  args.push(...(await services()));
  const env = {
    ...process.env,
    // Cheap argon2id (still argon2id): the test signs in several times.
    IDP_ARGON2_TIME_COST: '1',
    IDP_ARGON2_MEMORY_COST: '8192',
    IDP_ARGON2_PARALLELISM: '1',
    PYTHONUNBUFFERED: '1',
  };
  const child = spawn(python, args.map(String), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const take = (chunk) => {
    output += chunk;
    if (process.env.DEMO_E2E_VERBOSE) process.stderr.write(chunk);
  };
  child.stdout.setEncoding('utf8').on('data', take);
  child.stderr.setEncoding('utf8').on('data', take);
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  };
  process.once('exit', kill); // never leave the demo running behind the test
  try {
    await until(() => output.includes('demo ready'), 180_000, () => `the demo did not start:\n${output.slice(-4000)}`, child);
  } catch (error) {
    kill();
    rmSync(instance, { recursive: true, force: true });
    throw error;
  }
  const url = (label) => new RegExp(`${label}:\\s+(http\\S+)`).exec(output)[1];
  const demo = {
    appUrl: url('Acme Studio, the partner app'),
    ssoUrl: url('Bolt Notes, single sign-on'),
    issuer: url('The identity provider').replace(/\/$/, ''),
    output: () => output,
    /** The verification code the demo repeated for `email`. */
    code: (email) => until(() => new RegExp(`>>> mail to ${email.replace(/[.+]/g, '\\$&')}: code (\\d{6})`).exec(output)?.[1], 20_000, () => `no code mailed to ${email}`),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        kill();
        await exited;
      }
      rmSync(instance, { recursive: true, force: true });
    },
  };
  return demo;
}

async function until(probe, ms, message, child) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    if (child && child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(message());
}

// The network is closed: without these Chromium keeps dialling Google services (the
// same arguments as the SDK's browser tests, sdk/js/test/browser/harness.ts).
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ARGS });
}

/** Click the button `name` (on `page`, or in the part `within`) and return the popup it opened. */
export async function popupFrom(page, name, within = page) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), within.getByRole('button', typeof name === 'string' ? { name, exact: true } : { name }).click()]);
  return popup;
}

/** Resolves once the popup has closed (it may already have). */
export function closed(popup) {
  if (popup.isClosed()) return Promise.resolve();
  return popup.waitForEvent('close', { timeout: 20_000 }).catch((error) => {
    if (!popup.isClosed()) throw error;
  });
}

/** Allow the app on the consent page; a consent given before skips the page. */
export async function allow(popup) {
  const button = popup.getByRole('button', { name: 'Allow' });
  const shown = await Promise.race([button.waitFor().then(() => true, () => false), closed(popup).then(() => false)]);
  if (shown) await button.click();
}

/**
 * On the hosted purchase page: buy `packageId` through the simulated checkout. In a
 * purchase popup the page hands the outcome to the app and closes; in the sign-up
 * detour (`detour`) the thank-you page's "Continue" goes on to the app.
 */
export async function payFor(popup, packageId, { button = 'Buy', detour = false } = {}) {
  await popup.locator(`li[data-package-id="${packageId}"]`).getByRole('button', { name: button }).click();
  await popup.getByRole('heading', { level: 1, name: 'Simulated checkout' }).waitFor();
  await popup.getByRole('button', { name: /^Pay/ }).click();
  if (detour) {
    await popup.getByRole('heading', { level: 1, name: 'Thank you for your purchase' }).waitFor();
    await popup.getByRole('link', { name: /^Continue/ }).click();
  }
  await closed(popup);
}
