/**
 * Invariant: upstream's rvps.json forms load (storage/backends/extractors, aliases, the stale
 * docker-compose keys with a warning), a missing file means SQLite defaults with a warning, and
 * broken files or security sections stop startup instead of silently changing behaviour.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEFAULT_SQLITE_PATH, ConfigError, loadRvpsConfig, parseRvpsConfig } from './config.ts';
import { parseSocketAddress } from './address.ts';

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('loadRvpsConfig', () => {
  test('upstream LocalFs form with the swid extractor section', async () => {
    const { config, warnings } = await loadRvpsConfig(fixture('rvps-localfs.json'));
    expect(config.storage.storageType).toBe('LocalFs');
    expect(config.storage.localFs.dirPath).toBe('/var/lib/trustee-test/rvps');
    expect(config.admin).toBeUndefined();
    expect(warnings.some((warning) => warning.includes('no admin key configured'))).toBe(true);
  });

  test('snake_case storage alias', async () => {
    expect((await loadRvpsConfig(fixture('rvps-memory.json'))).config.storage.storageType).toBe('Memory');
  });

  test('stale docker-compose keys: warned about and, like upstream, in memory', async () => {
    const { config, warnings } = await loadRvpsConfig(fixture('rvps-compose-stale.json'));
    expect(config.storage.storageType).toBe('Memory');
    expect(warnings.some((warning) => warning.includes('stale docker-compose keys') && warning.includes('IN MEMORY'))).toBe(true);
  });

  test('Sqlite storage and the admin section', async () => {
    const { config, warnings } = await loadRvpsConfig(fixture('rvps-sqlite-admin.json'));
    expect(config.storage).toMatchObject({ storageType: 'Sqlite', sqlite: { path: '/var/lib/trustee-test/rvps.sqlite' } });
    expect(config.admin).toEqual({ identityProviders: [{ publicKeyUri: '/etc/trustee-test/admin.pem', issuer: 'ops' }], protectRegister: true });
    expect(warnings).toEqual([]);
  });

  test('missing file → SQLite under ./data with a warning', async () => {
    const { config, warnings } = await loadRvpsConfig('/nonexistent/rvps.json');
    expect(config.storage).toMatchObject({ storageType: 'Sqlite', sqlite: { path: DEFAULT_SQLITE_PATH } });
    expect(DEFAULT_SQLITE_PATH).toBe(join('data', 'rvps.sqlite'));
    expect(warnings[0]).toContain('not found');
  });

  test.each<[string, string, string]>([
    ['not JSON', '{"storage":', 'rvps.json: invalid JSON'],
    ['not an object', '[]', 'rvps.json: expected a table, found an array'],
    ['storage not an object', '{"storage": 1}', 'storage: expected a table, found number 1'],
    ['unknown storage type', '{"storage": {"storage_type": "Floppy"}}', 'unknown storage type'],
    ['admin without a key', '{"admin": {"issuer": "x"}}', 'bearer_jwt, public_key_path or jwks_path required'],
    ['admin typo', '{"admin": {"public_key_path": "/k", "protect_registr": true}}', 'admin.protect_registr: unknown key'],
    ['protect_register not boolean', '{"admin": {"public_key_path": "/k", "protect_register": "yes"}}', 'expected a boolean'],
    ['bearer_jwt without providers', '{"admin": {"bearer_jwt": {"identity_providers": []}}}', 'admin.bearer_jwt.identity_providers: at least one entry required'],
    ['bearer_jwt provider typo', '{"admin": {"bearer_jwt": {"identity_providers": [{"public_key_url": "/k"}]}}}', 'admin.bearer_jwt.identity_providers[0].public_key_url: unknown key (did you mean "public_key_uri"?)'],
    ['an unknown top-level key', '{"work_dir": "/x"}', 'work_dir: unknown key (known keys: storage, extractors, admin)'],
    ['an unknown extractor', '{"extractors": {"in_toto_extractor": {}}}', 'extractors.in_toto_extractor: unknown key (known keys: swid_extractor)'],
    ['bearer_jwt next to the shorthand', '{"admin": {"public_key_path": "/k", "bearer_jwt": {"identity_providers": [{"public_key_uri": "/k"}]}}}', 'exclude each other'],
  ])('rejects %s', async (_name, text, message) => {
    const path = join(mkdtempSync(join(tmpdir(), 'rvps-config-')), 'rvps.json');
    writeFileSync(path, text);
    await expect(loadRvpsConfig(path)).rejects.toThrow(ConfigError);
    await expect(loadRvpsConfig(path)).rejects.toThrow(message);
  });

  test.each<[string, string]>([
    ['rvps.toml', '[storage]\nstorage_type = "LocalFs"\n[storage.backends.local_fs]\ndir_path = "/srv/rv"\n'],
    ['rvps.yaml', 'storage:\n  storage_type: LocalFs\n  backends:\n    local_fs:\n      dir_path: /srv/rv\n'],
  ])('%s is read by extension, like upstream', async (name, text) => {
    const path = join(mkdtempSync(join(tmpdir(), 'rvps-config-')), name);
    writeFileSync(path, text);
    expect((await loadRvpsConfig(path)).config.storage).toMatchObject({ storageType: 'LocalFs', localFs: { dirPath: '/srv/rv' } });
  });

  test('broken TOML names the format', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rvps-config-')), 'rvps.toml');
    writeFileSync(path, '[storage\n');
    await expect(loadRvpsConfig(path)).rejects.toThrow('rvps.toml: invalid TOML');
  });

  test("upstream's Postgres storage section loads (host from the file, the rest upstream's defaults)", async () => {
    const { config } = await loadRvpsConfig(fixture('rvps-postgres.json'));
    expect(config.storage.storageType).toBe('Postgres');
    expect(config.storage.postgres?.url).toBe(process.env['POSTGRES_URL'] ?? 'postgresql://postgres@db:5432/postgres');
  });

  test('a misspelled storage key is refused, not turned into Memory', () => {
    expect(() => parseRvpsConfig({ storage: { storage_typ: 'Sqlite' } })).toThrow('storage.storage_typ: unknown key (did you mean "storage_type"?)');
  });

  test('--allow-unknown-config: unknown top-level and extractor keys only warn', () => {
    const { warnings } = parseRvpsConfig({ work_dir: '/x', extractors: { in_toto_extractor: {} } }, { allowUnknown: true });
    expect(warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^work_dir: unknown key ignored \(--allow-unknown-config\)/), expect.stringMatching(/^extractors\.in_toto_extractor: unknown key ignored/)]));
  });
});

describe('parseSocketAddress', () => {
  test.each<[string, string, number]>([
    ['127.0.0.1:50003', '127.0.0.1', 50003],
    ['0.0.0.0:0', '0.0.0.0', 0],
    ['[::1]:8080', '::1', 8080],
    ['rvps:50003', 'rvps', 50003],
  ])('%s', (text, host, port) => {
    expect(parseSocketAddress(text, '-a')).toEqual({ host, port });
  });

  test.each(['127.0.0.1', ':50003', '::1:50003', '127.0.0.1:70000', 'http://127.0.0.1:1', ''])('rejects %j', (text) => {
    expect(() => parseSocketAddress(text, '-a')).toThrow('-a: expected HOST:PORT');
  });
});
