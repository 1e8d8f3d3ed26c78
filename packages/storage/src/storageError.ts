/**
 * The one error type of the storage package: bad keys or namespaces (hostile input), bad
 * `[storage_backend]` configuration and backend failures. Callers map it to their own error
 * registry; `code` is stable:
 *
 * - `storage_unavailable`: the server could not be reached or did not answer in time (refused,
 *   reset, timed out, shutting down). Transient: the client reconnects on its own, callers
 *   answer 503 / gRPC UNAVAILABLE and a retry later may succeed.
 * - `backend_failure`: the backend answered with an error (bad credentials, missing database,
 *   malformed stored data, disk full). Not expected to heal without an operator.
 */
import { TrusteeError } from '@trustee/errors';
export type StorageErrorCode = 'invalid_key' | 'invalid_namespace' | 'invalid_config' | 'backend_failure' | 'storage_unavailable' | 'closed';

export class StorageError extends TrusteeError<StorageErrorCode> {}
