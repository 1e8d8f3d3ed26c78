/**
 * Per-client-IP token bucket for `/auth` (user-needs theme 20: one peer must not be able to fill
 * the session store). On by default (`[http_server] auth_rate_limit_per_ip`, `auth_rate_burst_per_ip`,
 * see services/kbs/README.md "Limits"); behind a proxy every guest shares the proxy's address,
 * so the defaults leave room for a whole node's pods.
 */
export class PerIpRateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #maxTracked: number;

  constructor(options: { perSecond: number; burst?: number; now?: () => number; maxTrackedIps?: number }) {
    this.#ratePerMs = options.perSecond / 1000;
    this.#burst = options.burst ?? Math.max(1, Math.ceil(options.perSecond * 2));
    this.#now = options.now ?? Date.now;
    this.#maxTracked = options.maxTrackedIps ?? 100_000;
  }

  /** Takes one token for `ip`; false when its bucket is empty. */
  take(ip: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(ip) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#ratePerMs);
    bucket.at = now;
    if (!this.#buckets.has(ip)) {
      // Bounded memory: forget the oldest entry (a full bucket again, which only favours that peer).
      if (this.#buckets.size >= this.#maxTracked) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      this.#buckets.set(ip, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
