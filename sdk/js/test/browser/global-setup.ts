/**
 * The real IdP for the browser tests: gunicorn from the repository's venv on a free
 * 127.0.0.1 port, on PostgreSQL (`<TEST_DATABASE_URL's database>_sdkjs`, dropped and
 * recreated) and Redis, migrated and seeded with the operator CLI (a public app whose
 * origin is the test page's, verified users with credits, a credit pack); and the
 * partner's test page with the built SDK, served by a tiny Node server on
 * `http://localhost:<port>` (another origin than the IdP).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const sdkRoot = resolve(here, '../..');
export const repoRoot = resolve(process.env.IDP_REPO_ROOT ?? join(sdkRoot, '../..'));
export const venvBin = resolve(process.env.IDP_VENV_BIN ?? join(repoRoot, '.venv/bin'));

export const CLIENT_ID = 'sdk-browser-test';
export const PASSWORD = 'correct horse battery';
/** One verified user per scenario, so balances and token families never mix. */
export const USERS = ['ada', 'bob', 'cyd', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy'] as const;
export const START_CREDITS = 100;

export interface BrowserEnv {
  issuer: string;
  appOrigin: string;
  clientId: string;
  password: string;
  logFile: string;
  databaseUrl: string;
  venvBin: string;
  users: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    env: BrowserEnv;
  }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = netServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

/** The `_sdkjs` sibling of the test database, dropped and created afresh. */
async function freshDatabase(): Promise<string> {
  const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test');
  const name = `${base.pathname.replace(/^\//, '') || 'test'}_sdkjs`;
  const maintenance = new URL(base);
  maintenance.pathname = '/postgres';
  const script = [
    'import sys, psycopg',
    'from psycopg import sql',
    'with psycopg.connect(sys.argv[1], autocommit=True) as c:',
    '    c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(sys.argv[2])))',
    '    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(sys.argv[2])))',
  ].join('\n');
  await run(join(venvBin, 'python'), ['-c', script, maintenance.toString(), name]);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The operator CLI's own commands (`flask db upgrade`, `keys ensure`, `apps create`,
 * `users create --verified`, `wallet grant`, `wallet packages create`), run through
 * Flask's CLI runner in one Python process: one start-up instead of one per command.
 */
export async function cli(env: NodeJS.ProcessEnv, commands: string[][]): Promise<void> {
  const script = [
    'import json, sys',
    'from wsgi import app',
    'runner = app.test_cli_runner()',
    'for args in json.loads(sys.argv[1]):',
    '    result = runner.invoke(args=args)',
    '    if result.exit_code != 0:',
    "        sys.exit('flask %s failed: %s %r' % (' '.join(args[:2]), result.output, result.exception))",
  ].join('\n');
  await run(join(venvBin, 'python'), ['-c', script, JSON.stringify(commands)], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 });
}

async function seed(env: NodeJS.ProcessEnv, appOrigin: string, users: Record<string, string>): Promise<void> {
  const commands = [
    ['db', 'upgrade'],
    ['keys', 'ensure'],
    [
      'apps', 'create', '--name', 'SDK Test App', '--type', 'public', '--client-id', CLIENT_ID,
      '--redirect-uri', `${appOrigin}/callback.html`, '--redirect-uri', `${appOrigin}/coop/callback.html`, '--origin', appOrigin,
      '--scope', 'openid profile email offline_access credits:read credits:consume credits:purchase',
      '--audience', appOrigin, '--post-logout-redirect-uri', `${appOrigin}/index.html`,
    ],
    ['wallet', 'packages', 'create', '--id', 'starter', '--name', 'Starter', '--credits', '50', '--price', '500'],
    ['wallet', 'packages', 'create', '--id', 'monthly', '--name', 'Monthly', '--credits', '200', '--price', '900', '--interval', 'month'],
  ];
  for (const email of Object.values(users)) {
    commands.push(['users', 'create', '--email', email, '--password', PASSWORD, '--verified']);
    commands.push(['wallet', 'grant', '--email', email, '--credits', String(START_CREDITS), '--reason', 'browser tests']);
  }
  await cli(env, commands);
}

async function waitUntilUp(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the IdP did not start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

/** The partner's origin: the test pages and the built SDK under /dist. */
function staticServer(port: number, issuer: string): Promise<Server> {
  const pages = join(here, 'pages');
  const dist = join(sdkRoot, 'dist');
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/config.js') {
      const body = `window.TEST_CONFIG = ${JSON.stringify({ issuer, clientId: CLIENT_ID })};`;
      response.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' });
      return response.end(body);
    }
    // The same callback page behind `Cross-Origin-Opener-Policy: same-origin`, which
    // severs the popup's window.opener (the BroadcastChannel hand-off must carry it).
    const coop = path === '/coop/callback.html';
    const [root, rest] = path.startsWith('/dist/') ? [dist, path.slice(6)] : [pages, coop ? 'callback.html' : path.slice(1) || 'index.html'];
    const file = normalize(join(root, rest));
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404);
      return response.end();
    }
    const headers: Record<string, string> = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' };
    if (coop) headers['Cross-Origin-Opener-Policy'] = 'same-origin';
    response.writeHead(200, headers);
    response.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

export default async function setup(project: TestProject) {
  if (!existsSync(join(sdkRoot, 'dist/index.js'))) {
    await run(process.execPath, [join(sdkRoot, 'scripts/build.mjs')], { cwd: sdkRoot });
  }
  const [idpPort, appPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${idpPort}`;
  const appOrigin = `http://localhost:${appPort}`;
  const instance = mkdtempSync(join(tmpdir(), 'sdkjs-idp-'));
  const logFile = join(instance, 'idp.log');
  const databaseUrl = await freshDatabase();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.SDK_TEST_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    IDP_ISSUER: issuer,
    IDP_ENV: 'development',
    IDP_PAYMENTS: 'simulated',
    IDP_INSTANCE_PATH: instance,
    // Cheap argon2id (still argon2id): the tests sign in many times.
    IDP_ARGON2_TIME_COST: '1',
    IDP_ARGON2_MEMORY_COST: '8192',
    IDP_ARGON2_PARALLELISM: '1',
    IDP_LOG_LEVEL: 'INFO',
  };
  const users = Object.fromEntries(USERS.map((name) => [name, `${name}@example.com`]));
  await seed(env, appOrigin, users);

  const log = openSync(logFile, 'a');
  const gunicorn = spawn(
    join(venvBin, 'gunicorn'),
    ['--bind', `127.0.0.1:${idpPort}`, '--workers', '1', '--threads', '8', '--access-logfile', '-', 'wsgi:app'],
    { cwd: repoRoot, env, stdio: ['ignore', log, log], detached: true },
  );
  await waitUntilUp(`${issuer}/healthz`, gunicorn, logFile);
  const pages = await staticServer(appPort, issuer);

  project.provide('env', { issuer, appOrigin, clientId: CLIENT_ID, password: PASSWORD, logFile, databaseUrl, venvBin, users });

  return async () => {
    await new Promise((ok) => pages.close(ok));
    if (gunicorn.pid && gunicorn.exitCode === null) {
      process.kill(-gunicorn.pid, 'SIGTERM');
      await new Promise((ok) => gunicorn.once('exit', ok));
    }
    rmSync(instance, { recursive: true, force: true });
  };
}
