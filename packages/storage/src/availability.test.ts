/**
 * Invariant: only a `storage_unavailable` StorageError, itself or as a cause (as the AS and KBS
 * wrap it), reads as "the store is away"; other storage failures and other errors do not.
 */
import { expect, test } from 'vitest';
import { isStorageUnavailable } from './availability.ts';
import { StorageError } from './storageError.ts';

test('storage_unavailable, directly or as a cause, is an outage; nothing else is', () => {
  const down = new StorageError('storage_unavailable', 'connect ECONNREFUSED 127.0.0.1:5432');
  expect(isStorageUnavailable(down)).toBe(true);
  expect(isStorageUnavailable(new Error('attestation service: cannot load the signer key', { cause: down }))).toBe(true);
  expect(isStorageUnavailable(new StorageError('backend_failure', 'password authentication failed'))).toBe(false);
  expect(isStorageUnavailable(new StorageError('invalid_key', 'bad key'))).toBe(false);
  expect(isStorageUnavailable(new Error('other'))).toBe(false);
  expect(isStorageUnavailable('storage_unavailable')).toBe(false);
});
