/**
 * The one error type of the storage package: bad keys or namespaces (hostile input), bad
 * `[storage_backend]` configuration and backend failures. Callers map it to their own error
 * registry; `code` is stable.
 */
export type StorageErrorCode = 'invalid_key' | 'invalid_namespace' | 'invalid_config' | 'backend_failure' | 'closed';

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}
