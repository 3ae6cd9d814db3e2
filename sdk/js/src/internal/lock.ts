/**
 * One holder at a time across the tabs of an origin: the Web Locks API where the browser
 * has it, else a localStorage lock (write, wait, re-read: the last writer wins and every
 * other tab backs off), both with a timeout.
 */
import { SDKError } from '../errors';
import { randomId } from '../communication/postMessage';
import { sleep } from './http';

export interface LockOptions {
  timeoutMs?: number;
  /** Force the localStorage fallback (tests, or browsers whose Web Locks misbehave). */
  forceFallback?: boolean;
  /** How long a fallback lock is valid without its holder (a crashed tab). */
  leaseMs?: number;
}

export async function withLock<T>(name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks && !options.forceFallback) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await locks.request(name, { signal: controller.signal }, async () => {
        clearTimeout(timer);
        return fn();
      });
    } catch (error) {
      if (controller.signal.aborted && (error as Error)?.name === 'AbortError') {
        throw new SDKError('lock_timeout', `could not take the ${name} lock in ${timeoutMs} ms`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  if (typeof localStorage === 'undefined') return fn();
  return withStorageLock(name, fn, timeoutMs, options.leaseMs ?? 15_000);
}

interface Lease {
  owner: string;
  expires: number;
}

function readLease(key: string): Lease | null {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? 'null');
    return value && typeof value.owner === 'string' && typeof value.expires === 'number' ? value : null;
  } catch {
    return null;
  }
}

async function withStorageLock<T>(name: string, fn: () => Promise<T>, timeoutMs: number, leaseMs: number): Promise<T> {
  const key = `cas:lock:${name}`;
  const owner = randomId(8);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = readLease(key);
    if (!held || held.expires < Date.now()) {
      localStorage.setItem(key, JSON.stringify({ owner, expires: Date.now() + leaseMs }));
      await sleep(25); // let a concurrent writer's value land, then see who won
      if (readLease(key)?.owner === owner) break;
    }
    if (Date.now() > deadline) throw new SDKError('lock_timeout', `could not take the ${name} lock in ${timeoutMs} ms`);
    await sleep(20 + Math.random() * 60);
  }
  try {
    return await fn();
  } finally {
    if (readLease(key)?.owner === owner) localStorage.removeItem(key);
  }
}
