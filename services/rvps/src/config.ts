/**
 * `rvps.json` (upstream trustee `rvps/src/config.rs`): upstream's `{"storage": {storage_type,
 * backends}, "extractors": {…}}` plus trustee-ts's `admin` section. Differences from upstream, on
 * purpose:
 * - No config file → SQLite at `./data/rvps.sqlite` (upstream: in-memory, values lost on restart).
 *   A file with a `storage` section gets exactly what it says (`Memory` included).
 * - A file that exists but does not parse, or has wrong types, stops startup (upstream logs a
 *   warning and silently runs in memory).
 * - The stale docker-compose keys (`storage.type`, `storage.file_path`) are recognised and
 *   warned about; like upstream they are ignored, so that storage is in-memory.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { bearerJwtSchema, type IdentityProviderConfig } from '@trustee/auth';
import { ConfigError, fail, readConfigFile, validateConfig } from '@trustee/config';
import { memoryStorageWarning, parseStorageBackendConfig, storageBackendSchema, type StorageBackendConfig } from '@trustee/storage';
import { z } from 'zod';

export { ConfigError };

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

const nonEmpty = z.string().min(1);

const adminSchema = z
  .strictObject({
    bearer_jwt: bearerJwtSchema.optional(),
    public_key_path: nonEmpty.optional(),
    jwks_path: nonEmpty.optional(),
    issuer: nonEmpty.optional(),
    audience: nonEmpty.optional(),
    protect_register: z.boolean().optional(),
  })
  .transform((raw, ctx): AdminConfig => {
    const protectRegister = raw.protect_register ?? false;
    const { public_key_path: publicKeyPath, jwks_path: jwksPath, issuer, audience } = raw;
    if (raw.bearer_jwt !== undefined) {
      if (publicKeyPath !== undefined || jwksPath !== undefined || issuer !== undefined || audience !== undefined) {
        fail(ctx, [], 'bearer_jwt and the shorthand public_key_path/jwks_path/issuer/audience exclude each other');
      }
      return { identityProviders: raw.bearer_jwt, protectRegister };
    }
    if (publicKeyPath === undefined && jwksPath === undefined) fail(ctx, [], 'bearer_jwt, public_key_path or jwks_path required');
    const constraints = { ...(issuer === undefined ? {} : { issuer }), ...(audience === undefined ? {} : { audience }) };
    const identityProviders: IdentityProviderConfig[] = [];
    if (publicKeyPath !== undefined) identityProviders.push({ ...constraints, publicKeyUri: publicKeyPath });
    if (jwksPath !== undefined) identityProviders.push({ ...constraints, jwkSetUri: jwksPath });
    return { identityProviders, protectRegister };
  });

/** Upstream's rvps/src/config.rs `Config`, plus `admin`; the stale `storage.type`/`file_path` are taken out before. */
function rvpsConfigSchema(env: Readonly<Record<string, string | undefined>>) {
  return z.strictObject({
    storage: storageBackendSchema('storage', env).optional(),
    // Upstream's `ExtractorsConfig`: `swid_extractor` has no settings (rvps/src/extractors/swid/mod.rs).
    extractors: z.strictObject({ swid_extractor: z.strictObject({}).optional() }).optional(),
    admin: adminSchema.optional(),
  });
}

export interface ParseRvpsConfigOptions {
  readonly where?: string;
  readonly allowUnknown?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Parses the decoded config document; throws ConfigError naming the key. */
export function parseRvpsConfig(raw: unknown, options: ParseRvpsConfigOptions = {}): LoadedRvpsConfig {
  const warnings: string[] = [];
  let input = raw;
  let stale = false;
  // The stale docker-compose keys upstream's serde skips: said aloud, then taken out.
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const storage = (raw as Record<string, unknown>)['storage'];
    if (typeof storage === 'object' && storage !== null && !Array.isArray(storage) && ('type' in storage || 'file_path' in storage)) {
      const { type: _type, file_path: _filePath, ...rest } = storage as Record<string, unknown>;
      input = { ...(raw as Record<string, unknown>), storage: rest };
      stale = true;
      warnings.push(
        'storage.type / storage.file_path are stale docker-compose keys that upstream ignores; this RVPS ignores them too and keeps reference values IN MEMORY. ' +
          'Use {"storage": {"storage_type": "Sqlite", "backends": {"sqlite": {"path": "…"}}}} (or LocalFs, Postgres, Redis) to persist them.',
      );
    }
  }
  const validated = validateConfig(rvpsConfigSchema(options.env ?? process.env), input, {
    ...(options.where === undefined ? {} : { where: options.where }),
    ...(options.allowUnknown === undefined ? {} : { allowUnknown: options.allowUnknown }),
  });
  warnings.unshift(...validated.warnings);
  const { admin } = validated.value;
  const storage = validated.value.storage ?? defaultStorage();
  const memory = memoryStorageWarning(storage, 'reference values', 'storage');
  if (memory !== undefined && !stale) warnings.push(memory);
  if (admin === undefined) {
    warnings.push(
      'WARNING: no admin key configured (config key "admin"): ListReferenceValues/DeleteReferenceValue are refused (PERMISSION_DENIED) and ANYONE who can reach the RVPS can register (overwrite) reference values, as with upstream. Set admin.bearer_jwt and admin.protect_register = true.',
    );
  } else if (!admin.protectRegister) {
    warnings.push('WARNING: admin.protect_register is false: ANYONE who can reach the RVPS can register (overwrite) reference values, as with upstream. Set admin.protect_register = true.');
  }
  return { config: { storage, ...(admin === undefined ? {} : { admin }) }, warnings };
}

function defaultStorage(): StorageBackendConfig {
  return parseStorageBackendConfig({ storage_type: 'Sqlite', backends: { sqlite: { path: DEFAULT_SQLITE_PATH } } });
}

/** Loads the config file (JSON, or TOML/YAML by extension, like upstream's `config` crate). Missing file → defaults with a warning (like upstream). */
export async function loadRvpsConfig(path: string, options: Omit<ParseRvpsConfigOptions, 'where'> = {}): Promise<LoadedRvpsConfig> {
  try {
    await access(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const defaults = parseRvpsConfig({}, options);
      return {
        config: defaults.config,
        warnings: [`config file ${path} not found: running with defaults (SQLite at ./${DEFAULT_SQLITE_PATH})`, ...defaults.warnings],
      };
    }
  }
  return parseRvpsConfig(await readConfigFile(path, { defaultFormat: 'json' }), { ...options, where: path });
}
