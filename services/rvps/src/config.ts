/**
 * `rvps.json` (as-rvps §6.3): upstream's `{"storage": {storage_type, backends}, "extractors": {…}}`
 * plus trustee-ts's `admin` section. Differences from upstream, on purpose:
 * - No config file → SQLite at `./data/rvps.sqlite` (upstream: in-memory, values lost on restart).
 *   A file with a `storage` section gets exactly what it says (`Memory` included).
 * - A file that exists but does not parse, or has wrong types, stops startup (upstream logs a
 *   warning and silently runs in memory).
 * - The stale docker-compose keys (`storage.type`, `storage.file_path`) are recognised and
 *   warned about; like upstream they are ignored, so that storage is in-memory.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { AuthConfigError, parseBearerJwtConfig, type IdentityProviderConfig } from '@trustee/auth';
import { memoryStorageWarning, parseStorageBackendConfig, StorageError, type StorageBackendConfig } from '@trustee/storage';
import { errorClassWithCode } from '@trustee/errors';

export const DEFAULT_CONFIG_PATH = '/etc/rvps.json';
export const DEFAULT_SQLITE_PATH = join('data', 'rvps.sqlite');

export interface AdminConfig {
  /**
   * Who may sign admin tokens: `admin.bearer_jwt.identity_providers` (the KBS's `bearer_jwt`
   * format), or the shorthand `public_key_path` / `jwks_path` / `issuer` / `audience` (one provider).
   */
  readonly identityProviders: readonly IdentityProviderConfig[];
  /** Also require the admin token for RegisterReferenceValue (default false: upstream lets anyone register). */
  readonly protectRegister: boolean;
}

export interface RvpsConfig {
  readonly storage: StorageBackendConfig;
  readonly admin?: AdminConfig;
}

export interface LoadedRvpsConfig {
  readonly config: RvpsConfig;
  readonly warnings: readonly string[];
}

export class RvpsConfigError extends errorClassWithCode('invalid_config') {}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(table: Table, key: string, path: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new RvpsConfigError(`${path}.${key}: expected a non-empty string`);
  return value;
}

const ADMIN_KEYS = ['bearer_jwt', 'public_key_path', 'jwks_path', 'issuer', 'audience', 'protect_register'];

function parseAdmin(raw: unknown, path: string): AdminConfig {
  if (!isTable(raw)) throw new RvpsConfigError(`${path}: expected an object`);
  // Strict: a typo in a security section must not silently leave the admin API closed or open.
  for (const key of Object.keys(raw)) {
    if (!ADMIN_KEYS.includes(key)) throw new RvpsConfigError(`${path}.${key}: unknown key (expected ${ADMIN_KEYS.join(', ')})`);
  }
  const protectRegister = raw['protect_register'] ?? false;
  if (typeof protectRegister !== 'boolean') throw new RvpsConfigError(`${path}.protect_register: expected a boolean`);
  const publicKeyPath = optionalString(raw, 'public_key_path', path);
  const jwksPath = optionalString(raw, 'jwks_path', path);
  const issuer = optionalString(raw, 'issuer', path);
  const audience = optionalString(raw, 'audience', path);
  if (raw['bearer_jwt'] !== undefined) {
    if (publicKeyPath !== undefined || jwksPath !== undefined || issuer !== undefined || audience !== undefined) {
      throw new RvpsConfigError(`${path}: bearer_jwt and the shorthand public_key_path/jwks_path/issuer/audience exclude each other`);
    }
    try {
      return { identityProviders: parseBearerJwtConfig(raw['bearer_jwt'], `${path}.bearer_jwt`), protectRegister };
    } catch (error) {
      if (error instanceof AuthConfigError) throw new RvpsConfigError(error.message);
      throw error;
    }
  }
  if (publicKeyPath === undefined && jwksPath === undefined) throw new RvpsConfigError(`${path}: bearer_jwt, public_key_path or jwks_path required`);
  const constraints = { ...(issuer === undefined ? {} : { issuer }), ...(audience === undefined ? {} : { audience }) };
  const identityProviders: IdentityProviderConfig[] = [];
  if (publicKeyPath !== undefined) identityProviders.push({ ...constraints, publicKeyUri: publicKeyPath });
  if (jwksPath !== undefined) identityProviders.push({ ...constraints, jwkSetUri: jwksPath });
  return { identityProviders, protectRegister };
}

function defaultStorage(): StorageBackendConfig {
  const parsed = parseStorageBackendConfig({ storage_type: 'Sqlite', backends: { sqlite: { path: DEFAULT_SQLITE_PATH } } });
  return parsed;
}

/** Parses the decoded config document (JSON object). */
export function parseRvpsConfig(raw: unknown): LoadedRvpsConfig {
  if (!isTable(raw)) throw new RvpsConfigError('config: expected an object (table)');
  const warnings: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!['storage', 'extractors', 'admin'].includes(key)) warnings.push(`config key "${key}" is not used by the RVPS and is ignored`);
  }
  let storage: StorageBackendConfig;
  const rawStorage = raw['storage'];
  if (rawStorage === undefined) {
    storage = defaultStorage();
  } else {
    if (!isTable(rawStorage)) throw new RvpsConfigError('storage: expected an object');
    const { type: staleType, file_path: staleFilePath, ...storageTable } = rawStorage;
    if (staleType !== undefined || staleFilePath !== undefined) {
      warnings.push(
        'storage.type / storage.file_path are stale docker-compose keys that upstream ignores; this RVPS ignores them too and keeps reference values IN MEMORY. ' +
          'Use {"storage": {"storage_type": "Sqlite", "backends": {"sqlite": {"path": "…"}}}} (or LocalFs, Postgres, Redis) to persist them.',
      );
    }
    try {
      // Every other unknown key is refused by the parser (a typo must not give Memory silently).
      storage = parseStorageBackendConfig(storageTable, 'storage');
    } catch (error) {
      if (error instanceof StorageError) throw new RvpsConfigError(error.message);
      throw error;
    }
    const memory = memoryStorageWarning(storage, 'reference values', 'storage');
    if (memory !== undefined && staleType === undefined && staleFilePath === undefined) warnings.push(memory);
  }
  const extractors = raw['extractors'];
  if (extractors !== undefined) {
    if (!isTable(extractors)) throw new RvpsConfigError('extractors: expected an object');
    for (const name of Object.keys(extractors)) {
      if (name !== 'swid_extractor') warnings.push(`extractors.${name} is unknown and ignored`);
    }
  }
  const admin = raw['admin'] === undefined ? undefined : parseAdmin(raw['admin'], 'admin');
  if (admin === undefined) {
    warnings.push(
      'WARNING: no admin key configured (config key "admin"): ListReferenceValues/DeleteReferenceValue are refused (PERMISSION_DENIED) and ANYONE who can reach the RVPS can register (overwrite) reference values, as with upstream. Set admin.bearer_jwt and admin.protect_register = true.',
    );
  } else if (!admin.protectRegister) {
    warnings.push('WARNING: admin.protect_register is false: ANYONE who can reach the RVPS can register (overwrite) reference values, as with upstream. Set admin.protect_register = true.');
  }
  return { config: { storage, ...(admin === undefined ? {} : { admin }) }, warnings };
}

/** Decodes the file by extension like upstream's `config` crate: `.toml`, `.yaml`/`.yml`, otherwise JSON. */
function decodeConfigText(text: string, path: string): unknown {
  const extension = extname(path).toLowerCase();
  try {
    if (extension === '.toml') return parseToml(text);
    if (extension === '.yaml' || extension === '.yml') return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    return JSON.parse(text);
  } catch (error) {
    const format = extension === '.toml' ? 'TOML' : extension === '.yaml' || extension === '.yml' ? 'YAML' : 'JSON';
    throw new RvpsConfigError(`${path}: not valid ${format} (${(error as Error).message})`);
  }
}

/** Loads the config file. Missing file → defaults with a warning (like upstream). */
export async function loadRvpsConfig(path: string): Promise<LoadedRvpsConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const defaults = parseRvpsConfig({});
      return {
        config: defaults.config,
        warnings: [`config file ${path} not found: running with defaults (SQLite at ./${DEFAULT_SQLITE_PATH})`, ...defaults.warnings],
      };
    }
    throw new RvpsConfigError(`${path}: ${(error as Error).message}`);
  }
  const raw = decodeConfigText(text, path);
  try {
    return parseRvpsConfig(raw);
  } catch (error) {
    if (error instanceof RvpsConfigError) throw new RvpsConfigError(`${path}: ${error.message}`);
    throw error;
  }
}
