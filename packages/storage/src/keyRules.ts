import { StorageError } from './storageError.ts';

/**
 * Key and namespace rules shared by the file-backed stores.
 *
 * Upstream's LocalFs/Postgres/Redis backends accept only ASCII alphanumerics and `-_./` in keys
 * (upstream deps/key-value-storage). Namespaces become directory names, so they must be one plain
 * path segment; we also refuse a leading dot so namespaces cannot collide with the store's own
 * bookkeeping directories (`.trustee-*`).
 */
const KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The one key-size limit of every backend: at most MAX_KEY_LENGTH characters with at most
 * MAX_KEY_SLASHES `/`. It comes from upstream's LocalFs layout, where the key is a file name with
 * each `/` spelled as the four characters `\x2F`, and file names are limited to 255 bytes:
 * 200 + 13 × 3 = 239. Every store refuses a longer key on write (`invalid_key`), so a key that
 * one backend stores is stored by all of them.
 */
export const MAX_KEY_LENGTH = 200;
export const MAX_KEY_SLASHES = 13;

/** Whether `key` is within the key-size limit (1..MAX_KEY_LENGTH characters, ≤ MAX_KEY_SLASHES "/"). */
export function isWithinKeyLimits(key: string): boolean {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  let slashes = 0;
  for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) slashes += 1;
  return slashes <= MAX_KEY_SLASHES;
}

/** Throws `invalid_key` unless the key is within the key-size limit (every backend, on write). */
export function assertKeyLimits(key: string): void {
  if (!isWithinKeyLimits(key)) {
    throw new StorageError('invalid_key', `storage key must be 1-${MAX_KEY_LENGTH} characters with at most ${MAX_KEY_SLASHES} "/"`);
  }
}

/** LocalFs keys: the size limit, and only the characters upstream's file-backed stores accept. */
export function assertValidKey(key: string): void {
  assertKeyLimits(key);
  if (!KEY_PATTERN.test(key)) throw new StorageError('invalid_key', 'storage key must be characters of [A-Za-z0-9._/-]');
}

export function assertValidNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || namespace.length > 255 || !NAMESPACE_PATTERN.test(namespace)) {
    throw new StorageError('invalid_namespace', 'storage namespace must be one path segment of [A-Za-z0-9._-] not starting with "."');
  }
}
