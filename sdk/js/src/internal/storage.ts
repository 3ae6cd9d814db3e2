/**
 * Where the refresh token (and the signed-in user's claims) live:
 * - `memory` (default): this tab only, gone on reload; nothing for an XSS to read later,
 *   but every new tab or reload signs in again (silently when the IdP session allows).
 * - `session`: sessionStorage, survives reloads of this tab only.
 * - `local`: shared by every tab of the origin and kept across restarts (needed for
 *   cross-tab refresh); readable by any script running on the origin.  Kept in
 *   IndexedDB (localStorage where there is none): a tab that takes the refresh lock
 *   after another tab's rotation must read that rotation's result, and localStorage
 *   writes reach other tabs' processes asynchronously (Chromium), IndexedDB commits do not.
 * Access tokens are always kept in memory only.
 */
export type StorageMode = 'memory' | 'session' | 'local';

export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Shared with other tabs. */
  readonly shared: boolean;
}

export class MemoryStore implements KeyValueStore {
  readonly shared = false;
  private readonly data = new Map<string, string>();
  async get(key: string): Promise<string | null> {
    return this.data.get(key) ?? null;
  }
  async set(key: string, value: string): Promise<void> {
    this.data.set(key, value);
  }
  async remove(key: string): Promise<void> {
    this.data.delete(key);
  }
}

/** sessionStorage / localStorage; a disabled one (privacy mode) behaves as empty. */
export class WebStore implements KeyValueStore {
  constructor(private readonly area: () => Storage, readonly shared: boolean) {}
  async get(key: string): Promise<string | null> {
    try {
      return this.area().getItem(key);
    } catch {
      return null;
    }
  }
  async set(key: string, value: string): Promise<void> {
    try {
      this.area().setItem(key, value);
    } catch {
      /* quota or disabled: the session then lasts as long as the tab */
    }
  }
  async remove(key: string): Promise<void> {
    try {
      this.area().removeItem(key);
    } catch {
      /* disabled */
    }
  }
}

/** One object store in IndexedDB; falls back to localStorage when it cannot be opened. */
export class IndexedDbStore implements KeyValueStore {
  readonly shared = true;
  private db: Promise<IDBDatabase | null> | null = null;
  private readonly fallback = new WebStore(() => localStorage, true);

  constructor(private readonly name = 'cas-sdk') {}

  private open(): Promise<IDBDatabase | null> {
    this.db ??= new Promise((resolve) => {
      try {
        const request = indexedDB.open(this.name, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('kv');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null);
        request.onblocked = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    return this.db;
  }

  /** Resolves once the transaction has committed (then every tab reads its result). */
  private async run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<{ value: T } | null> {
    const db = await this.open();
    if (!db) return null;
    return new Promise((resolve) => {
      try {
        const tx = db.transaction('kv', mode);
        const request = op(tx.objectStore('kv'));
        tx.oncomplete = () => resolve({ value: request.result });
        tx.onerror = tx.onabort = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
  }

  async get(key: string): Promise<string | null> {
    const found = await this.run('readonly', (store) => store.get(key));
    if (!found) return this.fallback.get(key);
    return typeof found.value === 'string' ? found.value : null;
  }
  async set(key: string, value: string): Promise<void> {
    if (!(await this.run('readwrite', (store) => store.put(value, key)))) await this.fallback.set(key, value);
  }
  async remove(key: string): Promise<void> {
    if (!(await this.run('readwrite', (store) => store.delete(key)))) await this.fallback.remove(key);
  }
}

export function createStore(mode: StorageMode): KeyValueStore {
  if (mode === 'session') return new WebStore(() => sessionStorage, false);
  if (mode === 'local') {
    return typeof indexedDB !== 'undefined' ? new IndexedDbStore() : new WebStore(() => localStorage, true);
  }
  return new MemoryStore();
}

/** sessionStorage when there is one (redirect transactions survive the navigation). */
export function transactionStore(): KeyValueStore {
  return typeof sessionStorage === 'undefined' ? new MemoryStore() : createStore('session');
}
