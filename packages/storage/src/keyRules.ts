import { StorageError } from './storageError.ts';

/**
 * Key and namespace rules shared by the file-backed stores.
 *
 * Upstream's LocalFs/Postgres/Redis backends accept only ASCII alphanumerics and `-_./` in keys
 * (T:deps/key-value-storage). Namespaces become directory names, so they must be one plain
 * path segment; we also refuse a leading dot so namespaces cannot collide with the store's own
 * bookkeeping directories (`.trustee-*`).
 */
const KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_KEY_LENGTH = 1024;

export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new StorageError('invalid_key', 'storage key must be 1-1024 characters of [A-Za-z0-9._/-]');
  }
}

export function assertValidNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || namespace.length > 255 || !NAMESPACE_PATTERN.test(namespace)) {
    throw new StorageError('invalid_namespace', 'storage namespace must be one path segment of [A-Za-z0-9._-] not starting with "."');
  }
}
