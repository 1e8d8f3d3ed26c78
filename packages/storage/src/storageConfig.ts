import { join } from 'node:path';
import type { KeyValueStore } from './keyValueStore.ts';
import { LocalFsStore } from './localFsStore.ts';
import { LocalJsonStore } from './localJsonStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { REPOSITORY_NAMESPACE } from './resourceRepository.ts';
import { SqliteStore } from './sqliteStore.ts';
import { StorageError } from './storageError.ts';

export type StorageType = 'Memory' | 'LocalFs' | 'LocalJson' | 'Sqlite';

/** Parsed upstream `[storage_backend]` table (plus our `Sqlite` type). */
export interface StorageBackendConfig {
  readonly storageType: StorageType;
  readonly localFs: { readonly dirPath: string };
  /** Optional so configs built in code before LocalJson existed stay valid. */
  readonly localJson?: { readonly fileDirPath: string };
  readonly sqlite: { readonly path: string };
}

export const DEFAULT_LOCAL_FS_DIR = '/opt/confidential-containers/storage/local_fs';
export const DEFAULT_LOCAL_JSON_DIR = '/opt/confidential-containers/storage/local_json';
export const DEFAULT_SQLITE_PATH = '/opt/confidential-containers/storage/trustee.sqlite';

const TYPE_ALIASES: Readonly<Record<string, StorageType>> = {
  Memory: 'Memory',
  memory: 'Memory',
  LocalFs: 'LocalFs',
  local_fs: 'LocalFs',
  LocalJson: 'LocalJson',
  local_json: 'LocalJson',
  Sqlite: 'Sqlite',
  sqlite: 'Sqlite',
};

const UNSUPPORTED: Readonly<Record<string, string>> = {
  Postgres: 'Postgres',
  postgres: 'Postgres',
  Redis: 'Redis',
  redis: 'Redis',
};

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(table: Record<string, unknown>, key: string, path: string, fallback: string): string {
  const value = table[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new StorageError('invalid_config', `${path}.${key}: expected a non-empty string`);
  return value;
}

/** Parses a storage type name (with upstream's snake_case aliases). */
export function parseStorageType(value: unknown, path: string): StorageType {
  if (typeof value !== 'string') throw new StorageError('invalid_config', `${path}: expected a string`);
  // Own keys only: a name such as "constructor" must not resolve through Object.prototype.
  const type = Object.hasOwn(TYPE_ALIASES, value) ? TYPE_ALIASES[value] : undefined;
  if (type !== undefined) return type;
  const unsupported = Object.hasOwn(UNSUPPORTED, value) ? UNSUPPORTED[value] : undefined;
  if (unsupported !== undefined) {
    throw new StorageError('invalid_config', `${path}: ${unsupported} is not supported by trustee-ts; use Sqlite (embedded, multi-process) or LocalFs`);
  }
  throw new StorageError('invalid_config', `${path}: unknown storage type "${value}" (expected Memory, LocalFs, LocalJson or Sqlite)`);
}

/**
 * Parses upstream's `[storage_backend]` table. Missing table → Memory, like upstream. Unknown
 * keys are ignored (upstream's serde default for this section).
 *
 * @param path where the table sits, for error messages (e.g. `storage_backend`).
 */
export function parseStorageBackendConfig(raw: unknown, path = 'storage_backend'): StorageBackendConfig {
  if (raw === undefined) {
    return { storageType: 'Memory', localFs: { dirPath: DEFAULT_LOCAL_FS_DIR }, localJson: { fileDirPath: DEFAULT_LOCAL_JSON_DIR }, sqlite: { path: DEFAULT_SQLITE_PATH } };
  }
  if (!isTable(raw)) throw new StorageError('invalid_config', `${path}: expected a table`);
  const storageType = raw['storage_type'] === undefined ? 'Memory' : parseStorageType(raw['storage_type'], `${path}.storage_type`);
  const backends = raw['backends'] ?? {};
  if (!isTable(backends)) throw new StorageError('invalid_config', `${path}.backends: expected a table`);
  const localFs = backends['local_fs'] ?? {};
  const localJson = backends['local_json'] ?? {};
  const sqlite = backends['sqlite'] ?? {};
  if (!isTable(localJson)) throw new StorageError('invalid_config', `${path}.backends.local_json: expected a table`);
  if (!isTable(localFs)) throw new StorageError('invalid_config', `${path}.backends.local_fs: expected a table`);
  if (!isTable(sqlite)) throw new StorageError('invalid_config', `${path}.backends.sqlite: expected a table`);
  return {
    storageType,
    localFs: { dirPath: optionalString(localFs, 'dir_path', `${path}.backends.local_fs`, DEFAULT_LOCAL_FS_DIR) },
    localJson: { fileDirPath: optionalString(localJson, 'file_dir_path', `${path}.backends.local_json`, DEFAULT_LOCAL_JSON_DIR) },
    sqlite: { path: optionalString(sqlite, 'path', `${path}.backends.sqlite`, DEFAULT_SQLITE_PATH) },
  };
}

export interface OpenStoreOptions {
  readonly now?: () => number;
  /** Open this type instead of `config.storageType` (upstream's `session_storage_type`). */
  readonly storageType?: StorageType;
  /**
   * The data is short-lived and re-creatable (RCAR sessions): SQLite skips the per-commit
   * fsync (`synchronous=NORMAL`); other backends ignore it.
   */
  readonly ephemeral?: boolean;
}

/** Opens the store a `[storage_backend]` config names. */
export function openStore(config: StorageBackendConfig, options: OpenStoreOptions = {}): KeyValueStore {
  const type = options.storageType ?? config.storageType;
  const clock = options.now === undefined ? {} : { now: options.now };
  switch (type) {
    case 'Memory':
      return new MemoryStore(options.now);
    case 'LocalFs':
      return new LocalFsStore({ dirPath: config.localFs.dirPath, ...clock });
    case 'LocalJson':
      return new LocalJsonStore({ fileDirPath: config.localJson?.fileDirPath ?? DEFAULT_LOCAL_JSON_DIR, ...clock });
    case 'Sqlite':
      return new SqliteStore({ path: config.sqlite.path, ...clock, ...(options.ephemeral === true ? { synchronous: 'NORMAL' as const } : {}) });
  }
}

/**
 * The nested repository tree the resource plugin also serves for this storage config:
 * `<dir_path>/repository` for LocalFs (where a CSI volume may be mounted), none otherwise.
 */
export function repositoryTreeRoot(config: StorageBackendConfig): string | undefined {
  return config.storageType === 'LocalFs' ? join(config.localFs.dirPath, REPOSITORY_NAMESPACE) : undefined;
}
