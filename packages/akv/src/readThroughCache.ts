/**
 * A read-through cache for values fetched from a remote store, keyed by string:
 *
 * - a hit younger than its time-to-live is served without a request; absent keys are cached
 *   too, for a shorter time (negative caching);
 * - concurrent misses for one key share one fetch (single flight);
 * - our own writes replace the entry and win over fetches that were in flight when they
 *   happened;
 * - at most `maxEntries` keys are kept (the oldest go first), so requests for many distinct
 *   absent keys cannot grow memory without bound;
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
  /** Default 10 000. */
  readonly maxEntries?: number;
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
  /** Set when a write overtook this fetch: its result must not enter the cache. */
  superseded: boolean;
  promise: Promise<V | undefined> | undefined;
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
  readonly #maxEntries: number;

  constructor(policy: CachePolicy, now: () => number, events: CacheEvents = {}) {
    this.#policy = policy;
    this.#now = now;
    this.#events = events;
    this.#maxEntries = policy.maxEntries ?? 10_000;
  }

  /** The cached value if fresh, else the result of `fetch` (shared with concurrent callers). */
  async get(key: string, fetch: () => Promise<Fetched<V>>): Promise<V | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.#now() < entry.expiresAtMs) return entry.value;
    const current = this.#flights.get(key);
    if (current?.promise !== undefined) return current.promise;

    const flight: Flight<V> = { superseded: false, promise: undefined };
    const promise = this.#fetch(key, flight, entry, fetch);
    flight.promise = promise;
    this.#flights.set(key, flight);
    try {
      return await promise;
    } finally {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    }
  }

  /** Records a value we just wrote (or `undefined` for a delete): later reads see it. */
  put(key: string, fetched: Fetched<V>): void {
    this.#supersede(key);
    this.#store(key, fetched);
  }

  /** Forgets one key (the next read fetches). */
  invalidate(key: string): void {
    this.#supersede(key);
    this.#entries.delete(key);
  }

  clear(): void {
    for (const key of [...this.#flights.keys()]) this.#supersede(key);
    this.#entries.clear();
  }

  /** Number of cached keys. */
  get size(): number {
    return this.#entries.size;
  }

  /** A fetch started before a write must not answer reads that come after it. */
  #supersede(key: string): void {
    const flight = this.#flights.get(key);
    if (flight !== undefined) flight.superseded = true;
    this.#flights.delete(key);
  }

  async #fetch(key: string, flight: Flight<V>, previous: Entry<V> | undefined, fetch: () => Promise<Fetched<V>>): Promise<V | undefined> {
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
    if (!flight.superseded) this.#store(key, fetched);
    return fetched.value;
  }

  #store(key: string, fetched: Fetched<V>): void {
    const ttl = fetched.value === undefined ? this.#policy.negativeTtlMs : this.#policy.ttlMs;
    const now = this.#now();
    const expiresAtMs = Math.min(now + ttl, fetched.notAfterMs ?? Number.POSITIVE_INFINITY);
    this.#entries.delete(key);
    if (expiresAtMs <= now) return;
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value: fetched.value, expiresAtMs });
  }
}
