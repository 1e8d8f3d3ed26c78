/**
 * Whether a store answers, and whether a failure means "the database is away" (retry later,
 * report not ready) rather than a bad request or a bug. Services use these for their readiness
 * checks and to answer 503 instead of a generic error while the store is down.
 */
import type { KeyValueStore } from './keyValueStore.ts';
import { StorageError } from './storageError.ts';

/** Key read by `pingStore` on stores without a ping of their own; never written. */
export const READINESS_PROBE_KEY = 'readiness-probe';

/** Resolves when the store answers a read in `namespace`; throws the store's error otherwise. */
export async function pingStore(store: KeyValueStore, namespace: string): Promise<void> {
  await store.get(namespace, READINESS_PROBE_KEY);
}

/** True when `error` or one of its causes is a StorageError saying the backend is unreachable. */
export function isStorageUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof StorageError && current.code === 'storage_unavailable') return true;
  }
  return false;
}
