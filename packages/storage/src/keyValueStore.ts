/**
 * The one storage interface every service uses for its state: resources, policies, RCAR
 * sessions, signing keys, reference values and collateral caches.
 *
 * Keys live in namespaces (upstream's names: `kbs`, `repository`, `kbs_protocol_session`,
 * `attestation_service_policy`, `reference_value`, ...). Values are opaque bytes; callers
 * encode JSON themselves. Implementations must be safe to share between concurrent requests
 * and, for the persistent ones, between processes (several KBS replicas on one database).
 */
export interface KeyValueStore {
  /** Returns the value or `undefined` when the key is absent (or expired). */
  get(namespace: string, key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores a value. With `overwrite: false` an existing key is left unchanged and `false` is
   * returned (upstream's "store the default policy unless one exists" rule).
   */
  set(namespace: string, key: string, value: Uint8Array, options?: SetOptions): Promise<boolean>;
  /** Deletes a key; returns whether it existed. */
  delete(namespace: string, key: string): Promise<boolean>;
  /** Lists the keys of a namespace (optionally those starting with `prefix`), sorted. */
  list(namespace: string, prefix?: string): Promise<string[]>;
  /**
   * One cheap round trip to the backing server or disk (readiness probes): resolves when the
   * store can serve, rejects with a StorageError (`storage_unavailable` for a server that is
   * down or silent) within the store's call timeout otherwise.
   */
  ping(): Promise<void>;
  /** Releases file handles and connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export interface SetOptions {
  /** Default `true`. */
  readonly overwrite?: boolean;
  /** Absolute expiry in milliseconds since the epoch; the key reads as absent afterwards. */
  readonly expiresAtMs?: number;
}
