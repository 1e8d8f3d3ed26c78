export type { BatchWrite, KeyValueStore, SetOptions } from './keyValueStore.ts';
export { setInOrder } from './keyValueStore.ts';
export { MemoryStore } from './memoryStore.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqliteStore.ts';
export { PostgresStore, type PostgresStoreOptions } from './postgresStore.ts';
export { RedisStore, type RedisStoreOptions } from './redisStore.ts';
export { LocalFsStore, localFsFileName, type LocalFsStoreOptions } from './localFsStore.ts';
export { LocalJsonStore, type LocalJsonStoreOptions } from './localJsonStore.ts';
export { DirectoryTree } from './directoryTree.ts';
export { ResourceRepository, REPOSITORY_NAMESPACE, type ResourceRepositoryOptions } from './resourceRepository.ts';
export {
  assertBackendConfigured,
  memoryStorageWarning,
  openStore,
  parseStorageBackendConfig,
  parseStorageType,
  storageBackendSchema,
  storageTypeSchema,
  repositoryTreeRoot,
  DEFAULT_LOCAL_FS_DIR,
  DEFAULT_LOCAL_JSON_DIR,
  DEFAULT_REDIS_URL,
  DEFAULT_SQLITE_PATH,
  POSTGRES_URL_ENV,
  REDIS_URL_ENV,
  type OpenStoreOptions,
  type PostgresBackendConfig,
  type RedisBackendConfig,
  type StorageBackendConfig,
  type StorageEnv,
  type StorageType,
} from './storageConfig.ts';
export { ConfigError } from '@trustee/config';
export { StorageError, type StorageErrorCode } from './storageError.ts';
export { isStorageUnavailable } from './availability.ts';
export { MAX_KEY_LENGTH, MAX_KEY_SLASHES, isWithinKeyLimits } from './keyRules.ts';
