import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, fail, nearestName, validateConfig } from '@trustee/config';
import { z } from 'zod';
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
/** Upstream's default (upstream deps/key-value-storage/src/redis/mod.rs `DEFAULT_URL`). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Upstream's env overrides (upstream deps/key-value-storage/src/postgres/mod.rs, .../redis/mod.rs). */
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

/** libpq's modes plus node-postgres' `no-verify` (TLS without certificate checks). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;

export type StorageEnv = Readonly<Record<string, string | undefined>>;

const nonEmpty = z.string().min(1);

/** A storage type name with upstream's snake_case aliases; anything else names the nearest type. */
export const storageTypeSchema = z.string().transform((value, ctx): StorageType => {
  // Own keys only: a name such as "constructor" must not resolve through Object.prototype.
  const type = Object.hasOwn(TYPE_ALIASES, value) ? TYPE_ALIASES[value] : undefined;
  if (type !== undefined) return type;
  const nearest = nearestName(value, TYPE_NAMES);
  const hint = nearest === undefined ? '' : ` Did you mean "${nearest}"?`;
  fail(ctx, [], `unknown storage type "${value}" (expected ${TYPE_NAMES.join(', ')}).${hint}`);
  return z.NEVER;
});

/** Upstream's `postgres::Config` fields, then our TLS extensions. */
const postgresTable = z.strictObject({
  host: nonEmpty.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  db: nonEmpty.optional(),
  username: nonEmpty.optional(),
  password: z.string().optional(),
  sslmode: z.enum(SSL_MODES).optional(),
  sslrootcert: nonEmpty.optional(),
});
const redisTable = z.strictObject({ url: nonEmpty.optional(), ca_cert_path: nonEmpty.optional() });

const storageBackendTable = z.strictObject({
  storage_type: storageTypeSchema.optional(),
  backends: z
    .strictObject({
      local_fs: z.strictObject({ dir_path: nonEmpty.optional() }).optional(),
      local_json: z.strictObject({ file_dir_path: nonEmpty.optional() }).optional(),
      sqlite: z.strictObject({ path: nonEmpty.optional() }).optional(),
      postgres: postgresTable.optional(),
      redis: redisTable.optional(),
    })
    .optional(),
});

/** Parses a storage type name (with upstream's snake_case aliases). */
export function parseStorageType(value: unknown, path: string): StorageType {
  return validateConfig(storageTypeSchema, value, { at: path }).value;
}

function hostForUrl(host: string): string {
  // An IPv6 literal goes in brackets; a Unix socket directory (/var/run/postgresql) is percent-encoded.
  return host.includes(':') && !host.startsWith('/') ? `[${host}]` : encodeURIComponent(host);
}

function postgresConfig(table: z.output<typeof postgresTable> | undefined, path: string, env: StorageEnv): PostgresBackendConfig | undefined {
  const override = env[POSTGRES_URL_ENV];
  if (override !== undefined && override !== '') return { url: override, source: POSTGRES_URL_ENV };
  if (table === undefined) return undefined;
  // Upstream's defaults (deps/key-value-storage/src/postgres/mod.rs `Config::default`).
  const { host = 'localhost', db = 'postgres', username = 'postgres', port = 5432, password, sslmode, sslrootcert } = table;
  // Upstream builds `postgresql://:{password}@…` when a password is set, dropping the user name
  // (deps/key-value-storage/src/postgres/mod.rs); we send both, which is what the keys say.
  const credentials = encodeURIComponent(username) + (password === undefined ? '' : `:${encodeURIComponent(password)}`);
  const query = new URLSearchParams();
  if (sslmode !== undefined) query.set('sslmode', sslmode);
  if (sslrootcert !== undefined) query.set('sslrootcert', sslrootcert);
  const search = query.size === 0 ? '' : `?${query.toString()}`;
  return { url: `postgresql://${credentials}@${hostForUrl(host)}:${port}/${encodeURIComponent(db)}${search}`, source: path };
}

function redisConfig(table: z.output<typeof redisTable> | undefined, path: string, env: StorageEnv): RedisBackendConfig | string | undefined {
  const ca = table?.ca_cert_path === undefined ? {} : { caCertPath: table.ca_cert_path };
  const override = env[REDIS_URL_ENV];
  const [url, source] = override !== undefined && override !== '' ? [override, REDIS_URL_ENV] : [table?.url ?? DEFAULT_REDIS_URL, path];
  if (table === undefined && source === path) return undefined;
  if (!/^rediss?:\/\//.test(url)) return `${source === path ? 'backends.redis.url' : REDIS_URL_ENV}`;
  return { url, ...ca, source };
}

/**
 * The zod schema of upstream's `[storage_backend]` table. A missing table (or `storage_type`)
 * means Memory, like upstream, flagged `defaulted` so services can warn loudly. Unlike upstream's
 * serde, unknown keys anywhere in the table are refused with their path and the nearest known
 * key: `storage_typ = "Sqlite"` must not silently give a Memory store.
 *
 * @param path where the table sits (e.g. `storage_backend`), for `source` in the result.
 * @param env where `POSTGRES_URL` / `REDIS_URL` are read (they override the tables, like upstream).
 */
export function storageBackendSchema(path = 'storage_backend', env: StorageEnv = process.env) {
  return storageBackendTable.optional().transform((raw, ctx): StorageBackendConfig => {
    const backends = raw?.backends ?? {};
    const postgres = postgresConfig(backends.postgres, `${path}.backends.postgres`, env);
    const redis = redisConfig(backends.redis, `${path}.backends.redis`, env);
    if (typeof redis === 'string') {
      fail(ctx, redis === REDIS_URL_ENV ? [] : ['backends', 'redis', 'url'], `${redis === REDIS_URL_ENV ? `${REDIS_URL_ENV}: ` : ''}expected a redis:// or rediss:// URL`);
      return z.NEVER;
    }
    const storageType = raw?.storage_type ?? 'Memory';
    const config: StorageBackendConfig = {
      storageType,
      localFs: { dirPath: backends.local_fs?.dir_path ?? DEFAULT_LOCAL_FS_DIR },
      localJson: { fileDirPath: backends.local_json?.file_dir_path ?? DEFAULT_LOCAL_JSON_DIR },
      sqlite: { path: backends.sqlite?.path ?? DEFAULT_SQLITE_PATH },
      ...(postgres === undefined ? {} : { postgres }),
      ...(redis === undefined ? {} : { redis }),
      ...(raw?.storage_type === undefined ? { defaulted: true } : {}),
    };
    const missing = missingBackend(config, storageType);
    if (missing !== undefined) fail(ctx, missing.path, missing.message);
    return config;
  });
}

/** Parses upstream's `[storage_backend]` table (see storageBackendSchema); throws ConfigError. */
export function parseStorageBackendConfig(raw: unknown, path = 'storage_backend', env: StorageEnv = process.env): StorageBackendConfig {
  return validateConfig(storageBackendSchema(path, env), raw, { at: path }).value;
}

function missingBackend(config: StorageBackendConfig, type: StorageType): { path: string[]; message: string } | undefined {
  if (type === 'Postgres' && config.postgres === undefined) return { path: ['backends', 'postgres'], message: `required for storage type Postgres (or set ${POSTGRES_URL_ENV})` };
  if (type === 'Redis' && config.redis === undefined) return { path: ['backends', 'redis'], message: `required for storage type Redis (or set ${REDIS_URL_ENV})` };
  return undefined;
}

/**
 * Throws unless `type` can be opened from `config`: Postgres and Redis need their backend table
 * or env URL (upstream: "PostgreSQL configuration is required"). Call it for every override
 * (`session_storage_type`, `rvps_config.storage_type`) at startup.
 */
export function assertBackendConfigured(config: StorageBackendConfig, type: StorageType, path = 'storage_backend'): void {
  const missing = missingBackend(config, type);
  if (missing !== undefined) throw ConfigError.at([path, ...missing.path].join('.'), missing.message);
}

function postgresOf(config: StorageBackendConfig): PostgresBackendConfig {
  if (config.postgres === undefined) throw new StorageError('invalid_config', `storage_backend.backends.postgres: required for storage type Postgres (or set ${POSTGRES_URL_ENV})`);
  return config.postgres;
}

function redisOf(config: StorageBackendConfig): RedisBackendConfig {
  if (config.redis === undefined) throw new StorageError('invalid_config', `storage_backend.backends.redis: required for storage type Redis (or set ${REDIS_URL_ENV})`);
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
