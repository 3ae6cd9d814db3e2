/**
 * Where the refresh token (and the signed-in user's claims) live:
 * - `memory` (default): this tab only, gone on reload; nothing for an XSS to read later,
 *   but every new tab or reload signs in again (silently when the IdP session allows).
 * - `session`: sessionStorage, survives reloads of this tab only.
 * - `local`: localStorage, shared by every tab of the origin (needed for cross-tab
 *   refresh), readable by any script running on the origin.
 * Access tokens are always kept in memory only.
 */
export type StorageMode = 'memory' | 'session' | 'local';

export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Shared with other tabs (localStorage). */
  readonly shared: boolean;
}

export class MemoryStore implements KeyValueStore {
  readonly shared = false;
  private readonly data = new Map<string, string>();
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  set(key: string, value: string): void {
    this.data.set(key, value);
  }
  remove(key: string): void {
    this.data.delete(key);
  }
}

class WebStore implements KeyValueStore {
  constructor(private readonly area: () => Storage, readonly shared: boolean) {}
  get(key: string): string | null {
    try {
      return this.area().getItem(key);
    } catch {
      return null; // storage disabled (privacy mode, sandboxed frame)
    }
  }
  set(key: string, value: string): void {
    try {
      this.area().setItem(key, value);
    } catch {
      /* quota or disabled: the session then lasts as long as the tab */
    }
  }
  remove(key: string): void {
    try {
      this.area().removeItem(key);
    } catch {
      /* disabled */
    }
  }
}

export function createStore(mode: StorageMode): KeyValueStore {
  if (mode === 'session') return new WebStore(() => sessionStorage, false);
  if (mode === 'local') return new WebStore(() => localStorage, true);
  return new MemoryStore();
}

/** sessionStorage when there is one (redirect transactions survive the navigation). */
export function transactionStore(): KeyValueStore {
  return typeof sessionStorage === 'undefined' ? new MemoryStore() : createStore('session');
}
