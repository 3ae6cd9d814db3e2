/** A small typed event emitter: `on` returns the unsubscribe function. */
import type { SDKError } from '../errors';
import type { User } from '../auth/types';

export interface CreditsState {
  balance: number;
  held: number;
  available: number;
}

/** The events the SDK emits, with their payloads. */
export interface SDKEvents {
  login: { user: User };
  logout: { reason: 'user' | 'other_tab' | 'refresh_refused' | 'expired' };
  tokenRefreshed: { expiresAt: number; fromOtherTab: boolean };
  creditsChanged: CreditsState;
  error: { error: SDKError };
}

export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object = SDKEvents> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  /** Calls every listener; one that throws does not stop the others. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
