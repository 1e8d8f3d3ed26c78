/**
 * A read-through cache for values fetched from a remote store, keyed by string:
 *
 * - a hit younger than its time-to-live is served without a request; absent keys are cached
 *   too, for a shorter time (negative caching);
 * - concurrent misses for one key share one fetch (single flight);
 * - our own writes replace the entry and win over fetches that were in flight when they
 *   happened (a per-key generation counter);
 * - optionally, when a refresh fails, a value that expired less than `staleIfErrorMs` ago is
 *   served instead of the error.
 */

export interface CachePolicy {
  /** Lifetime of a present value, ms. 0 disables caching (single flight still applies). */
  readonly ttlMs: number;
  /** Lifetime of an absent result, ms. */
  readonly negativeTtlMs: number;
  /** How long after expiry a value may still be served when the refresh fails, ms. */
  readonly staleIfErrorMs: number;
}

/** What a fetch found: a value, or absence, optionally with its own latest expiry (epoch ms). */
export interface Fetched<V> {
  readonly value: V | undefined;
  /** Serve no longer than this (e.g. the secret's own `expires` attribute). */
  readonly notAfterMs?: number;
}

interface Entry<V> {
  readonly value: V | undefined;
  readonly expiresAtMs: number;
}

interface Flight<V> {
  readonly generation: number;
  readonly promise: Promise<V | undefined>;
}

export interface CacheEvents {
  /** A stale value was served because the refresh failed. */
  onStaleServed?(key: string, error: unknown): void;
}

export class ReadThroughCache<V> {
  readonly #policy: CachePolicy;
  readonly #now: () => number;
  readonly #events: CacheEvents;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #flights = new Map<string, Flight<V>>();
  readonly #generations = new Map<string, number>();

  constructor(policy: CachePolicy, now: () => number, events: CacheEvents = {}) {
    this.#policy = policy;
    this.#now = now;
    this.#events = events;
  }

  /** The cached value if fresh, else the result of `fetch` (shared with concurrent callers). */
  async get(key: string, fetch: () => Promise<Fetched<V>>): Promise<V | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#now() < entry.expiresAtMs) return entry.value;
    const flight = this.#flights.get(key);
    if (flight !== undefined) return flight.promise;

    const generation = this.#generation(key);
    const promise = this.#fetch(key, generation, entry, fetch);
    this.#flights.set(key, { generation, promise });
    try {
      return await promise;
    } finally {
      if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key);
    }
  }

  /** Records a value we just wrote (or `undefined` for a delete): later reads see it. */
  put(key: string, fetched: Fetched<V>): void {
    this.#generations.set(key, this.#generation(key) + 1);
    // A fetch started before this write must not answer reads that come after it.
    this.#flights.delete(key);
    this.#store(key, fetched);
  }

  /** Forgets one key (the next read fetches). */
  invalidate(key: string): void {
    this.#generations.set(key, this.#generation(key) + 1);
    this.#flights.delete(key);
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#flights.clear();
    this.#generations.clear();
  }

  #generation(key: string): number {
    return this.#generations.get(key) ?? 0;
  }

  async #fetch(key: string, generation: number, previous: Entry<V> | undefined, fetch: () => Promise<Fetched<V>>): Promise<V | undefined> {
    let fetched: Fetched<V>;
    try {
      fetched = await fetch();
    } catch (error) {
      if (previous?.value !== undefined && this.#now() < previous.expiresAtMs + this.#policy.staleIfErrorMs) {
        this.#events.onStaleServed?.(key, error);
        return previous.value;
      }
      throw error;
    }
    if (this.#generation(key) === generation) this.#store(key, fetched);
    return fetched.value;
  }

  #store(key: string, fetched: Fetched<V>): void {
    const ttl = fetched.value === undefined ? this.#policy.negativeTtlMs : this.#policy.ttlMs;
    const now = this.#now();
    const expiresAtMs = Math.min(now + ttl, fetched.notAfterMs ?? Number.POSITIVE_INFINITY);
    if (expiresAtMs <= now) this.#entries.delete(key);
    else this.#entries.set(key, { value: fetched.value, expiresAtMs });
  }
}
