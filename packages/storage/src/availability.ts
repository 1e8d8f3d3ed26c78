/**
 * Whether a failure means "the database is away" (retry later, report not ready) rather than a
 * bad request or a bug. Services use it to answer 503 / UNAVAILABLE while the store is down and
 * to retry start-up work that needs the store. (Readiness itself asks `KeyValueStore.ping()`.)
 */
import { StorageError } from './storageError.ts';

/** True when `error` or one of its causes is a StorageError `storage_unavailable`. */
export function isStorageUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof StorageError && current.code === 'storage_unavailable') return true;
  }
  return false;
}
