export type { KeyValueStore, SetOptions } from './keyValueStore.ts';
export { MemoryStore } from './memoryStore.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqliteStore.ts';
export { LocalFsStore, localFsFileName, type LocalFsStoreOptions } from './localFsStore.ts';
export { LocalJsonStore, type LocalJsonStoreOptions } from './localJsonStore.ts';
export { DirectoryTree } from './directoryTree.ts';
export { ResourceRepository, REPOSITORY_NAMESPACE, type ResourceRepositoryOptions } from './resourceRepository.ts';
export {
  openStore,
  parseStorageBackendConfig,
  parseStorageType,
  repositoryTreeRoot,
  DEFAULT_LOCAL_FS_DIR,
  DEFAULT_LOCAL_JSON_DIR,
  DEFAULT_SQLITE_PATH,
  type OpenStoreOptions,
  type StorageBackendConfig,
  type StorageType,
} from './storageConfig.ts';
export { StorageError, type StorageErrorCode } from './storageError.ts';
export { isStorageUnavailable, pingStore, READINESS_PROBE_KEY } from './availability.ts';
