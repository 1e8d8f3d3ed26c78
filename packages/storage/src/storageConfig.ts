import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertKnownKeys, nearestName } from './configKeys.ts';
import type { KeyValueStore } from './keyValueStore.ts';
import { LocalFsStore } from './localFsStore.ts';
import { LocalJsonStore } from './localJsonStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { PostgresStore } from './postgresStore.ts';
import { RedisStore } from './redisStore.ts';
import { REPOSITORY_NAMESPACE } from './resourceRepository.ts';
import { SqliteStore } from './sqliteStore.ts';
import { StorageError } from './storageError.ts';

export type StorageType = 'Memory' | 'LocalFs' | 'LocalJson' | 'Sqlite' | 'Postgres' | 'Redis';

/** `[storage_backend.backends.postgres]` (or `POSTGRES_URL`), resolved to one connection URL. */
export interface PostgresBackendConfig {
  /** node-postgres connection URL; may hold a password: never print it. */
  readonly url: string;
  /** Where the settings came from, for messages (`POSTGRES_URL` or the config path). */
  readonly source: string;
}

/** `[storage_backend.backends.redis]` (or `REDIS_URL`). */
export interface RedisBackendConfig {
  /** `redis://` or `rediss://` URL; may hold a password: never print it. */
  readonly url: string;
  /** Our extension: PEM CA bundle for a `rediss://` server with a private CA. */
  readonly caCertPath?: string;
  readonly source: string;
}

/** Parsed upstream `[storage_backend]` table (plus our `Sqlite` type). */
export interface StorageBackendConfig {
  readonly storageType: StorageType;
  readonly localFs: { readonly dirPath: string };
  /** Optional so configs built in code before LocalJson existed stay valid. */
  readonly localJson?: { readonly fileDirPath: string };
  readonly sqlite: { readonly path: string };
  /** Absent when neither the table nor `POSTGRES_URL` is given (opening Postgres then fails, like upstream). */
  readonly postgres?: PostgresBackendConfig;
  /** Absent when neither the table nor `REDIS_URL` is given. */
  readonly redis?: RedisBackendConfig;
  /** True when the config named no storage type at all and got upstream's Memory default. */
  readonly defaulted?: boolean;
}

export const DEFAULT_LOCAL_FS_DIR = '/opt/confidential-containers/storage/local_fs';
export const DEFAULT_LOCAL_JSON_DIR = '/opt/confidential-containers/storage/local_json';
export const DEFAULT_SQLITE_PATH = '/opt/confidential-containers/storage/trustee.sqlite';
/** Upstream's default (T:deps/key-value-storage/src/redis/mod.rs `DEFAULT_URL`). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Upstream's env overrides (T:deps/key-value-storage/src/postgres/mod.rs, .../redis/mod.rs). */
export const POSTGRES_URL_ENV = 'POSTGRES_URL';
export const REDIS_URL_ENV = 'REDIS_URL';

const TYPE_ALIASES: Readonly<Record<string, StorageType>> = {
  Memory: 'Memory',
  memory: 'Memory',
  LocalFs: 'LocalFs',
  local_fs: 'LocalFs',
  LocalJson: 'LocalJson',
  local_json: 'LocalJson',
  Sqlite: 'Sqlite',
  sqlite: 'Sqlite',
  Postgres: 'Postgres',
  postgres: 'Postgres',
  Redis: 'Redis',
  redis: 'Redis',
};
const TYPE_NAMES: readonly StorageType[] = ['Memory', 'LocalFs', 'LocalJson', 'Sqlite', 'Postgres', 'Redis'];

const STORAGE_BACKEND_KEYS = ['storage_type', 'backends'] as const;
const BACKEND_KEYS = ['local_fs', 'local_json', 'sqlite', 'postgres', 'redis'] as const;
/** Upstream's `postgres::Config` fields, then our TLS extensions. */
const POSTGRES_KEYS = ['host', 'port', 'db', 'username', 'password', 'sslmode', 'sslrootcert'] as const;
const REDIS_KEYS = ['url', 'ca_cert_path'] as const;
/** libpq's modes plus node-postgres' `no-verify` (TLS without certificate checks). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;

export type StorageEnv = Readonly<Record<string, string | undefined>>;

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function subTable(parent: Record<string, unknown>, key: string, path: string): Record<string, unknown> | undefined {
  const value = parent[key];
  if (value === undefined) return undefined;
  if (!isTable(value)) throw new StorageError('invalid_config', `${path}.${key}: expected a table`);
  return value;
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
  const nearest = nearestName(value, TYPE_NAMES);
  const hint = nearest === undefined ? '' : ` Did you mean "${nearest}"?`;
  throw new StorageError('invalid_config', `${path}: unknown storage type "${value}" (expected ${TYPE_NAMES.join(', ')}).${hint}`);
}

function hostForUrl(host: string): string {
  // An IPv6 literal goes in brackets; a Unix socket directory (/var/run/postgresql) is percent-encoded.
  return host.includes(':') && !host.startsWith('/') ? `[${host}]` : encodeURIComponent(host);
}

function parsePostgres(table: Record<string, unknown> | undefined, path: string, env: StorageEnv): PostgresBackendConfig | undefined {
  if (table !== undefined) assertKnownKeys(table, POSTGRES_KEYS, path);
  const override = env[POSTGRES_URL_ENV];
  if (override !== undefined && override !== '') return { url: override, source: POSTGRES_URL_ENV };
  if (table === undefined) return undefined;
  // Upstream's defaults (T:deps/key-value-storage/src/postgres/mod.rs `Config::default`).
  const host = optionalString(table, 'host', path, 'localhost');
  const db = optionalString(table, 'db', path, 'postgres');
  const username = optionalString(table, 'username', path, 'postgres');
  const port = table['port'] ?? 5432;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new StorageError('invalid_config', `${path}.port: expected an integer 1-65535`);
  const password = table['password'];
  if (password !== undefined && typeof password !== 'string') throw new StorageError('invalid_config', `${path}.password: expected a string`);
  const sslmode = table['sslmode'];
  if (sslmode !== undefined && !(SSL_MODES as readonly unknown[]).includes(sslmode)) {
    throw new StorageError('invalid_config', `${path}.sslmode: expected one of ${SSL_MODES.join(', ')}`);
  }
  const sslrootcert = table['sslrootcert'] === undefined ? undefined : optionalString(table, 'sslrootcert', path, '');
  // Upstream builds `postgresql://:{password}@…` when a password is set, dropping the user name
  // (T:deps/key-value-storage/src/postgres/mod.rs); we send both, which is what the keys say.
  const credentials = encodeURIComponent(username) + (password === undefined ? '' : `:${encodeURIComponent(password)}`);
  const query = new URLSearchParams();
  if (sslmode !== undefined) query.set('sslmode', sslmode as string);
  if (sslrootcert !== undefined) query.set('sslrootcert', sslrootcert);
  const search = query.size === 0 ? '' : `?${query.toString()}`;
  return { url: `postgresql://${credentials}@${hostForUrl(host)}:${port}/${encodeURIComponent(db)}${search}`, source: path };
}

function parseRedis(table: Record<string, unknown> | undefined, path: string, env: StorageEnv): RedisBackendConfig | undefined {
  if (table !== undefined) assertKnownKeys(table, REDIS_KEYS, path);
  const caCertPath = table === undefined || table['ca_cert_path'] === undefined ? undefined : optionalString(table, 'ca_cert_path', path, '');
  const ca = caCertPath === undefined ? {} : { caCertPath };
  const override = env[REDIS_URL_ENV];
  if (override !== undefined && override !== '') return { url: assertRedisUrl(override, REDIS_URL_ENV), ...ca, source: REDIS_URL_ENV };
  if (table === undefined) return undefined;
  return { url: assertRedisUrl(optionalString(table, 'url', path, DEFAULT_REDIS_URL), `${path}.url`), ...ca, source: path };
}

function assertRedisUrl(url: string, where: string): string {
  if (!/^rediss?:\/\//.test(url)) throw new StorageError('invalid_config', `${where}: expected a redis:// or rediss:// URL`);
  return url;
}

/**
 * Parses upstream's `[storage_backend]` table. A missing table (or `storage_type`) means
 * Memory, like upstream, flagged `defaulted` so services can warn loudly. Unlike upstream's
 * serde, unknown keys anywhere in the table are refused with their path and the nearest known
 * key: `storage_typ = "Sqlite"` must not silently give a Memory store.
 *
 * @param path where the table sits, for error messages (e.g. `storage_backend`).
 * @param env where `POSTGRES_URL` / `REDIS_URL` are read (they override the tables, like upstream).
 */
export function parseStorageBackendConfig(raw: unknown, path = 'storage_backend', env: StorageEnv = process.env): StorageBackendConfig {
  if (raw === undefined) {
    return {
      storageType: 'Memory',
      localFs: { dirPath: DEFAULT_LOCAL_FS_DIR },
      localJson: { fileDirPath: DEFAULT_LOCAL_JSON_DIR },
      sqlite: { path: DEFAULT_SQLITE_PATH },
      ...optionalBackends(undefined, undefined, path, env),
      defaulted: true,
    };
  }
  if (!isTable(raw)) throw new StorageError('invalid_config', `${path}: expected a table`);
  assertKnownKeys(raw, STORAGE_BACKEND_KEYS, path);
  const storageType = raw['storage_type'] === undefined ? 'Memory' : parseStorageType(raw['storage_type'], `${path}.storage_type`);
  const backends = subTable(raw, 'backends', path) ?? {};
  assertKnownKeys(backends, BACKEND_KEYS, `${path}.backends`);
  const localFs = subTable(backends, 'local_fs', `${path}.backends`) ?? {};
  const localJson = subTable(backends, 'local_json', `${path}.backends`) ?? {};
  const sqlite = subTable(backends, 'sqlite', `${path}.backends`) ?? {};
  assertKnownKeys(localFs, ['dir_path'], `${path}.backends.local_fs`);
  assertKnownKeys(localJson, ['file_dir_path'], `${path}.backends.local_json`);
  assertKnownKeys(sqlite, ['path'], `${path}.backends.sqlite`);
  const config: StorageBackendConfig = {
    storageType,
    localFs: { dirPath: optionalString(localFs, 'dir_path', `${path}.backends.local_fs`, DEFAULT_LOCAL_FS_DIR) },
    localJson: { fileDirPath: optionalString(localJson, 'file_dir_path', `${path}.backends.local_json`, DEFAULT_LOCAL_JSON_DIR) },
    sqlite: { path: optionalString(sqlite, 'path', `${path}.backends.sqlite`, DEFAULT_SQLITE_PATH) },
    ...optionalBackends(subTable(backends, 'postgres', `${path}.backends`), subTable(backends, 'redis', `${path}.backends`), path, env),
    ...(raw['storage_type'] === undefined ? { defaulted: true } : {}),
  };
  assertBackendConfigured(config, storageType, path);
  return config;
}

function optionalBackends(
  postgresTable: Record<string, unknown> | undefined,
  redisTable: Record<string, unknown> | undefined,
  path: string,
  env: StorageEnv,
): { postgres?: PostgresBackendConfig; redis?: RedisBackendConfig } {
  const postgres = parsePostgres(postgresTable, `${path}.backends.postgres`, env);
  const redis = parseRedis(redisTable, `${path}.backends.redis`, env);
  return { ...(postgres === undefined ? {} : { postgres }), ...(redis === undefined ? {} : { redis }) };
}

/**
 * Throws unless `type` can be opened from `config`: Postgres and Redis need their backend table
 * or env URL (upstream: "PostgreSQL configuration is required"). Call it for every override
 * (`session_storage_type`, `rvps_config.storage_type`) at startup.
 */
export function assertBackendConfigured(config: StorageBackendConfig, type: StorageType, path = 'storage_backend'): void {
  if (type === 'Postgres') postgresOf(config, path);
  if (type === 'Redis') redisOf(config, path);
}

function postgresOf(config: StorageBackendConfig, path = 'storage_backend'): PostgresBackendConfig {
  if (config.postgres === undefined) throw new StorageError('invalid_config', `${path}.backends.postgres: required for storage type Postgres (or set ${POSTGRES_URL_ENV})`);
  return config.postgres;
}

function redisOf(config: StorageBackendConfig, path = 'storage_backend'): RedisBackendConfig {
  if (config.redis === undefined) throw new StorageError('invalid_config', `${path}.backends.redis: required for storage type Redis (or set ${REDIS_URL_ENV})`);
  return config.redis;
}

/**
 * The loud warning for a store that keeps nothing across restarts, or undefined. `what` names
 * the data (e.g. "secrets, policies and sessions").
 */
export function memoryStorageWarning(config: StorageBackendConfig, what: string, path = 'storage_backend'): string | undefined {
  if (config.storageType !== 'Memory') return undefined;
  const why = config.defaulted === true ? `no ${path}.storage_type is configured, so storage is Memory (upstream's default)` : `${path}.storage_type is Memory`;
  return `WARNING: ${why}: ${what} are lost when this process exits and are not shared with other replicas. Set ${path}.storage_type to Sqlite (one machine) or Postgres/Redis (replicas) to persist them.`;
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
    case 'Postgres':
      return new PostgresStore({ url: postgresOf(config).url, ...clock });
    case 'Redis': {
      const redis = redisOf(config);
      return new RedisStore({ url: redis.url, ...redisCa(redis), ...clock });
    }
  }
}

/**
 * The nested repository tree the resource plugin also serves for this storage config:
 * `<dir_path>/repository` for LocalFs (where a CSI volume may be mounted), none otherwise.
 */
export function repositoryTreeRoot(config: StorageBackendConfig): string | undefined {
  return config.storageType === 'LocalFs' ? join(config.localFs.dirPath, REPOSITORY_NAMESPACE) : undefined;
}

function redisCa(config: RedisBackendConfig): { ca?: Buffer } {
  if (config.caCertPath === undefined) return {};
  try {
    return { ca: readFileSync(config.caCertPath) };
  } catch (error) {
    throw new StorageError('invalid_config', `${config.source}.ca_cert_path: cannot read ${config.caCertPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
