/**
 * Small bounded memo (the oldest entry leaves first): verified chains, collateral signatures,
 * CRLs and facts read from certificates are immutable, so the DCAP path remembers them by the
 * bytes they come from instead of recomputing them per quote.
 */
export class Memo<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.#map.size >= this.limit) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
  }
}
