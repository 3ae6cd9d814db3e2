/**
 * A CrossAppAuthSDK whose network and popups are stubbed: the components' tests drive
 * its events and answers directly (the browser tests run the real server).
 */
import { vi } from 'vitest';
import { CrossAppAuthSDK } from '../../src/auth/CrossAppAuthSDK';
import type { User } from '../../src/auth/types';
import { fromServer } from '../../src/errors';

export const ADA: User = { sub: 'user-1', email: 'ada@example.com', name: 'Ada', claims: { sub: 'user-1' } as User['claims'] };

type Route = (body: unknown) => unknown;

export interface FakeAuth {
  auth: CrossAppAuthSDK;
  /** Resolve start-up with this user (or null); until then the status is `loading`. */
  start(user: User | null): void;
  routes: Map<string, Route>;
  calls: string[];
  /** Throws this server error body with this status. */
  fail(status: number, body: Record<string, unknown>): never;
}

export function fakeAuth(): FakeAuth {
  const auth = new CrossAppAuthSDK({ appId: 'app-1', issuer: 'https://idp.test', redirectUrl: 'https://app.test/cb' });
  let current: User | null = null;
  let resolveStart!: () => void;
  const started = new Promise<void>((resolve) => (resolveStart = resolve));
  const routes = new Map<string, Route>();
  const calls: string[] = [];
  const answer = async (method: string, path: string, init: RequestInit = {}) => {
    const key = `${method} ${path}`;
    calls.push(key);
    const route = routes.get(key);
    if (!route) throw fromServer(404, { error: 'not_found', error_description: key });
    return route(init.body ? JSON.parse(String(init.body)) : undefined);
  };
  vi.spyOn(auth, 'getCurrentUser').mockImplementation(async () => {
    await started;
    return current;
  });
  vi.spyOn(auth, 'login').mockImplementation(async () => {
    current = ADA;
    auth.events.emit('login', { user: ADA });
    return ADA;
  });
  vi.spyOn(auth, 'logout').mockImplementation(async () => {
    current = null;
    auth.events.emit('logout', { reason: 'user' });
  });
  vi.spyOn(auth, 'getAccessToken').mockResolvedValue('at');
  vi.spyOn(auth, 'apiRequest').mockImplementation((path, init) => answer(init?.method ?? 'GET', path, init) as never);
  vi.spyOn(auth, 'publicRequest').mockImplementation((path, init) => answer(init?.method ?? 'GET', path, init) as never);
  return {
    auth,
    routes,
    calls,
    start(user) {
      current = user;
      resolveStart();
    },
    fail(status, body) {
      throw fromServer(status, body);
    },
  };
}

export const PACKAGES = [
  { id: 'starter', name: 'Starter', credits: 100, price: 500, currency: 'usd', interval: null, type: 'one_time' },
  { id: 'big', name: 'Big pack', credits: 1000, price: 4000, currency: 'usd', interval: null, type: 'one_time' },
  { id: 'pro', name: 'Pro', credits: 1000, price: 2000, currency: 'usd', interval: 'month', type: 'subscription' },
] as const;
