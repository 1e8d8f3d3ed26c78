/**
 * Invariant: upstream `[storage_backend]` tables parse as upstream reads them (aliases,
 * defaults, unknown keys ignored) and bad ones fail with a path-precise message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { LocalFsStore } from './localFsStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { SqliteStore } from './sqliteStore.ts';
import { openStore, parseStorageBackendConfig, repositoryTreeRoot } from './storageConfig.ts';

test('missing table means Memory', () => {
  expect(parseStorageBackendConfig(undefined).storageType).toBe('Memory');
});

test.each([
  ['LocalFs', 'LocalFs'],
  ['local_fs', 'LocalFs'],
  ['Memory', 'Memory'],
  ['sqlite', 'Sqlite'],
  ['local_json', 'LocalJson'],
] as const)('storage_type %s → %s', (raw, expected) => {
  expect(parseStorageBackendConfig({ storage_type: raw, unknown_key: 1 }).storageType).toBe(expected);
});

test('reads backend paths and derives the repository tree for LocalFs', () => {
  const config = parseStorageBackendConfig({ storage_type: 'LocalFs', backends: { local_fs: { dir_path: '/srv/kbs' } } });
  expect(config.localFs.dirPath).toBe('/srv/kbs');
  expect(repositoryTreeRoot(config)).toBe('/srv/kbs/repository');
  expect(repositoryTreeRoot(parseStorageBackendConfig({ storage_type: 'Memory' }))).toBeUndefined();
});

test.each([
  [{ storage_type: 'Postgres' }, 'storage_backend.storage_type: Postgres is not supported'],
  [{ storage_type: 'Floppy' }, 'storage_backend.storage_type: unknown storage type "Floppy"'],
  [{ storage_type: 'constructor' }, 'storage_backend.storage_type: unknown storage type "constructor"'],
  [{ storage_type: 'toString' }, 'storage_backend.storage_type: unknown storage type "toString"'],
  [{ storage_type: 3 }, 'storage_backend.storage_type: expected a string'],
  [{ storage_type: 'LocalFs', backends: { local_fs: { dir_path: 7 } } }, 'storage_backend.backends.local_fs.dir_path: expected a non-empty string'],
  [{ backends: [] }, 'storage_backend.backends: expected a table'],
  ['x', 'storage_backend: expected a table'],
])('rejects %j', (raw, message) => {
  expect(() => parseStorageBackendConfig(raw)).toThrow(message);
});

test('openStore opens each type', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'open-store-'));
  const config = parseStorageBackendConfig({
    storage_type: 'Sqlite',
    backends: { sqlite: { path: join(dir, 'db.sqlite') }, local_fs: { dir_path: join(dir, 'fs') } },
  });
  const sqlite = openStore(config);
  const fs = openStore(config, { storageType: 'LocalFs' });
  const memory = openStore(config, { storageType: 'Memory' });
  expect(sqlite).toBeInstanceOf(SqliteStore);
  expect(fs).toBeInstanceOf(LocalFsStore);
  expect(memory).toBeInstanceOf(MemoryStore);
  await Promise.all([sqlite.close(), fs.close(), memory.close()]);
  rmSync(dir, { recursive: true, force: true });
});
