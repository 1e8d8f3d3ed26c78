/**
 * Invariant: upstream `[storage_backend]` tables parse as upstream reads them (aliases,
 * defaults, `POSTGRES_URL` / `REDIS_URL` overrides) and anything else fails with a
 * path-precise message: a misspelled key is refused naming the nearest known key, never
 * ignored into a Memory store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { LocalFsStore } from './localFsStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { PostgresStore } from './postgresStore.ts';
import { RedisStore } from './redisStore.ts';
import { SqliteStore } from './sqliteStore.ts';
import { memoryStorageWarning, openStore, parseStorageBackendConfig, repositoryTreeRoot } from './storageConfig.ts';

const noEnv = {};

test('missing table means Memory, flagged as defaulted so services warn', () => {
  const config = parseStorageBackendConfig(undefined, 'storage_backend', noEnv);
  expect(config.storageType).toBe('Memory');
  expect(config.defaulted).toBe(true);
  expect(memoryStorageWarning(config, 'secrets')).toMatch(/^WARNING: no storage_backend.storage_type is configured, so storage is Memory .*secrets are lost/);
  const explicit = parseStorageBackendConfig({ storage_type: 'Memory' }, 'storage_backend', noEnv);
  expect(explicit.defaulted).toBeUndefined();
  expect(memoryStorageWarning(explicit, 'secrets')).toMatch(/^WARNING: storage_backend.storage_type is Memory/);
  expect(memoryStorageWarning(parseStorageBackendConfig({ storage_type: 'Sqlite' }, 'storage_backend', noEnv), 'secrets')).toBeUndefined();
});

test.each([
  ['LocalFs', 'LocalFs'],
  ['local_fs', 'LocalFs'],
  ['Memory', 'Memory'],
  ['sqlite', 'Sqlite'],
  ['local_json', 'LocalJson'],
  ['Postgres', 'Postgres'],
  ['postgres', 'Postgres'],
  ['Redis', 'Redis'],
  ['redis', 'Redis'],
] as const)('storage_type %s → %s', (raw, expected) => {
  const config = parseStorageBackendConfig({ storage_type: raw, backends: { postgres: {}, redis: {} } }, 'storage_backend', noEnv);
  expect(config.storageType).toBe(expected);
});

test('reads backend paths and derives the repository tree for LocalFs', () => {
  const config = parseStorageBackendConfig({ storage_type: 'LocalFs', backends: { local_fs: { dir_path: '/srv/kbs' } } });
  expect(config.localFs.dirPath).toBe('/srv/kbs');
  expect(repositoryTreeRoot(config)).toBe('/srv/kbs/repository');
  expect(repositoryTreeRoot(parseStorageBackendConfig({ storage_type: 'Memory' }))).toBeUndefined();
});

test("postgres: upstream's defaults and keys become one connection URL; credentials are percent-encoded", () => {
  const defaults = parseStorageBackendConfig({ storage_type: 'Postgres', backends: { postgres: {} } }, 'storage_backend', noEnv);
  expect(defaults.postgres).toEqual({ url: 'postgresql://postgres@localhost:5432/postgres', source: 'storage_backend.backends.postgres' });
  const full = parseStorageBackendConfig(
    { storage_type: 'Postgres', backends: { postgres: { host: 'db.example', port: 6432, db: 'kbs db', username: 'kbs@corp', password: 'p:w/@?' } } },
    'storage_backend',
    noEnv,
  );
  expect(full.postgres?.url).toBe('postgresql://kbs%40corp:p%3Aw%2F%40%3F@db.example:6432/kbs%20db');
  const ipv6 = parseStorageBackendConfig({ storage_type: 'Postgres', backends: { postgres: { host: '::1' } } }, 'storage_backend', noEnv);
  expect(ipv6.postgres?.url).toBe('postgresql://postgres@[::1]:5432/postgres');
});

test('postgres TLS: sslmode and sslrootcert go into the URL; bad modes are refused', () => {
  const config = parseStorageBackendConfig(
    { storage_type: 'Postgres', backends: { postgres: { host: 'x.postgres.database.azure.com', sslmode: 'verify-full', sslrootcert: '/etc/ssl/ca.pem' } } },
    'storage_backend',
    noEnv,
  );
  expect(config.postgres?.url).toBe('postgresql://postgres@x.postgres.database.azure.com:5432/postgres?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fca.pem');
  expect(() => parseStorageBackendConfig({ storage_type: 'Postgres', backends: { postgres: { sslmode: 'on' } } }, 'storage_backend', noEnv)).toThrow(
    'storage_backend.backends.postgres.sslmode: expected one of "disable", "prefer", "require", "verify-ca", "verify-full", "no-verify"',
  );
});

test('POSTGRES_URL and REDIS_URL override the tables (as upstream), and stand in for missing tables', () => {
  const env = { POSTGRES_URL: 'postgresql://u:secret@pg:5432/trustee?sslmode=verify-full', REDIS_URL: 'rediss://:secret@cache:6380' };
  const config = parseStorageBackendConfig({ storage_type: 'Postgres', backends: { postgres: { host: 'ignored' } } }, 'storage_backend', env);
  expect(config.postgres).toEqual({ url: env.POSTGRES_URL, source: 'POSTGRES_URL' });
  expect(config.redis).toEqual({ url: env.REDIS_URL, source: 'REDIS_URL' });
  expect(parseStorageBackendConfig({ storage_type: 'Redis' }, 'storage_backend', env).redis?.url).toBe(env.REDIS_URL);
});

test('redis: default URL, rediss:// and a CA file', () => {
  expect(parseStorageBackendConfig({ storage_type: 'Redis', backends: { redis: {} } }, 'storage_backend', noEnv).redis?.url).toBe('redis://127.0.0.1:6379');
  const tls = parseStorageBackendConfig({ storage_type: 'Redis', backends: { redis: { url: 'rediss://cache:6380', ca_cert_path: '/ca.pem' } } }, 'storage_backend', noEnv);
  expect(tls.redis).toEqual({ url: 'rediss://cache:6380', caCertPath: '/ca.pem', source: 'storage_backend.backends.redis' });
  expect(() => openStore(tls)).toThrow('storage_backend.backends.redis.ca_cert_path: cannot read /ca.pem (ENOENT)');
});

test.each([
  [{ storage_type: 'Floppy' }, 'storage_backend.storage_type: unknown storage type "Floppy" (expected Memory, LocalFs, LocalJson, Sqlite, Postgres, Redis).'],
  [{ storage_type: 'Sqlit' }, 'Did you mean "Sqlite"?'],
  [{ storage_type: 'postgresql' }, 'Did you mean "Postgres"?'],
  [{ storage_type: 'constructor' }, 'storage_backend.storage_type: unknown storage type "constructor"'],
  [{ storage_type: 'toString' }, 'storage_backend.storage_type: unknown storage type "toString"'],
  [{ storage_type: 3 }, 'storage_backend.storage_type: expected a string'],
  [{ storage_typ: 'Sqlite' }, 'storage_backend.storage_typ: unknown key (did you mean "storage_type"?)'],
  [{ storage_type: 'Sqlite', backend: {} }, 'storage_backend.backend: unknown key (did you mean "backends"?)'],
  [{ storage_type: 'Sqlite', unknown_key: 1 }, 'storage_backend.unknown_key: unknown key (known keys: storage_type, backends)'],
  [{ storage_type: 'Sqlite', backends: { sqlit: { path: '/x' } } }, 'storage_backend.backends.sqlit: unknown key (did you mean "sqlite"?)'],
  [{ storage_type: 'Sqlite', backends: { sqlite: { pth: '/x' } } }, 'storage_backend.backends.sqlite.pth: unknown key (did you mean "path"?)'],
  [{ storage_type: 'LocalFs', backends: { local_fs: { dirpath: '/x' } } }, 'storage_backend.backends.local_fs.dirpath: unknown key (did you mean "dir_path"?)'],
  [{ storage_type: 'Postgres', backends: { postgres: { hostname: 'x' } } }, 'storage_backend.backends.postgres.hostname: unknown key'],
  [{ storage_type: 'Postgres', backends: { postgres: { user: 'x' } } }, 'storage_backend.backends.postgres.user: unknown key'],
  [{ storage_type: 'Postgres', backends: { postgres: { port: '5432' } } }, 'storage_backend.backends.postgres.port: expected a number, found the string "5432"'],
  [{ storage_type: 'Postgres', backends: { postgres: { password: 5 } } }, 'storage_backend.backends.postgres.password: expected a string'],
  [{ storage_type: 'Redis', backends: { redis: { url: 'http://x' } } }, 'storage_backend.backends.redis.url: expected a redis:// or rediss:// URL'],
  [{ storage_type: 'Redis', backends: { redis: { uri: 'redis://x' } } }, 'storage_backend.backends.redis.uri: unknown key (did you mean "url"?)'],
  [{ storage_type: 'Postgres' }, 'storage_backend.backends.postgres: required for storage type Postgres (or set POSTGRES_URL)'],
  [{ storage_type: 'Redis' }, 'storage_backend.backends.redis: required for storage type Redis (or set REDIS_URL)'],
  [{ storage_type: 'LocalFs', backends: { local_fs: { dir_path: 7 } } }, 'storage_backend.backends.local_fs.dir_path: expected a string, found number 7'],
  [{ backends: [] }, 'storage_backend.backends: expected a table'],
  ['x', 'storage_backend: expected a table'],
])('rejects %j', (raw, message) => {
  expect(() => parseStorageBackendConfig(raw, 'storage_backend', noEnv)).toThrow(message);
});

test('openStore opens each type (Postgres and Redis connect lazily)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'open-store-'));
  const config = parseStorageBackendConfig(
    {
      storage_type: 'Sqlite',
      backends: { sqlite: { path: join(dir, 'db.sqlite') }, local_fs: { dir_path: join(dir, 'fs') }, postgres: { port: 1 }, redis: { url: 'redis://127.0.0.1:1' } },
    },
    'storage_backend',
    noEnv,
  );
  const stores = [openStore(config), openStore(config, { storageType: 'LocalFs' }), openStore(config, { storageType: 'Memory' }), openStore(config, { storageType: 'Postgres' }), openStore(config, { storageType: 'Redis' })];
  expect(stores.map((store) => store.constructor)).toEqual([SqliteStore, LocalFsStore, MemoryStore, PostgresStore, RedisStore]);
  await Promise.all(stores.map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

test('openStore refuses an override type whose backend is not configured', () => {
  const config = parseStorageBackendConfig({ storage_type: 'Memory' }, 'storage_backend', noEnv);
  expect(() => openStore(config, { storageType: 'Redis' })).toThrow('storage_backend.backends.redis: required for storage type Redis (or set REDIS_URL)');
});

test('a readable CA file is loaded for rediss://', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-ca-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const config = parseStorageBackendConfig({ storage_type: 'Redis', backends: { redis: { url: 'rediss://127.0.0.1:1', ca_cert_path: ca } } }, 'storage_backend', noEnv);
  const store = openStore(config);
  expect(store).toBeInstanceOf(RedisStore);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
