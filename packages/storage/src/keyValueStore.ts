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
  /**
   * Optional: applies `writes` in order, as one transaction where the backend has them. A write
   * with `overwrite: false` whose key holds a live value stops the batch: it and every write after
   * it are not applied. Resolves with the number of writes applied (the rest were not). Callers
   * use `setInOrder`, which falls back to one `set` at a time on stores without it (same result,
   * without the atomicity of the prefix).
   */
  setBatch?(writes: readonly BatchWrite[]): Promise<number>;
  /**
   * Optional: a read-then-write no other writer can interleave, in any process sharing the store.
   * `plan` runs synchronously inside one write transaction, reads keys of `namespace` through
   * `read` (their values as of that transaction) and returns the writes to apply in it (all in
   * `namespace`) and the call's result. Where a store lacks it, callers use a path that tolerates
   * races (e.g. the audit trail's conditional creates and retries).
   */
  updateExclusive?<T>(namespace: string, plan: ExclusivePlan<T>): Promise<T>;
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

/** See `KeyValueStore.updateExclusive`. */
export type ExclusivePlan<T> = (read: (key: string) => Uint8Array | undefined) => { readonly writes: readonly Omit<BatchWrite, 'namespace'>[]; readonly result: T };

export interface BatchWrite extends SetOptions {
  readonly namespace: string;
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * `store.setBatch(writes)` where the store has it, else the same writes one `set` at a time,
 * stopping at the first refused conditional create. Resolves with the number applied.
 */
export async function setInOrder(store: KeyValueStore, writes: readonly BatchWrite[]): Promise<number> {
  if (store.setBatch !== undefined) return store.setBatch(writes);
  let applied = 0;
  for (const write of writes) {
    const options: SetOptions = { ...(write.overwrite === undefined ? {} : { overwrite: write.overwrite }), ...(write.expiresAtMs === undefined ? {} : { expiresAtMs: write.expiresAtMs }) };
    if (!(await store.set(write.namespace, write.key, write.value, options))) return applied;
    applied++;
  }
  return applied;
}
