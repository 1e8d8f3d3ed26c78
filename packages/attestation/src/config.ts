/**
 * Attestation-service configuration, parsed once at the edge into a typed value.
 *
 * Accepts both upstream shapes with the same keys: the AS's `as-config.json` (top level
 * `storage_backend`, `rvps_config`, `attestation_token_broker`, `verifier_config`) and the KBS
 * TOML `[attestation_service]` table (`type`, `timeout`, the same sub-tables, `storage_type`).
 * Unknown keys are ignored like upstream (no `deny_unknown_fields` anywhere), so legacy keys
 * such as `work_dir` or `attestation_token_broker.type = "Ear"` keep old files working; a
 * `verifier_config.<tee>_verifier` table for a TEE this build does not verify is refused.
 */
import { parseStorageType, StorageError, type StorageType } from '@trustee/storage';
import { AttestationError } from './attestationError.ts';
import { isJsonObject, jsonKind, own, type Json, type JsonObject } from './json.ts';
import { checkVerifierConfigTees } from './verifierConfigTees.ts';

export type { StorageType };

export interface TokenSignerConfig {
  /** PEM EC P-256 private key (PKCS#8 or SEC1). */
  readonly keyPath: string;
  /** PEM chain whose certificates become the header JWK's `x5c`, in file order. */
  readonly certPath?: string;
  /** Becomes the header JWK's `x5u`. */
  readonly certUrl?: string;
}

export interface TokenBrokerConfig {
  readonly durationMin: number;
  readonly issuerName: string;
  readonly developerName: string;
  readonly buildName: string;
  readonly profileName: string;
  readonly verboseToken: boolean;
  /** Absent: a P-256 key is generated once and persisted in the key-value store. */
  readonly signer?: TokenSignerConfig;
}

export type RvpsConfig =
  | { readonly type: 'BuiltIn'; readonly storageType?: StorageType; readonly extractors?: JsonObject }
  | { readonly type: 'GrpcRemote'; readonly address: string };

export type AttestationServiceType = 'coco_as_builtin' | 'coco_as_grpc' | 'intel_ta';

export interface AttestationServiceConfig {
  /** KBS `[attestation_service] type`; an AS config file has none and means `coco_as_builtin`. */
  readonly type: AttestationServiceType;
  /** KBS session/cookie lifetime in minutes (`timeout`, default 5; fractions accepted like the KBS's own parser). */
  readonly timeoutMin: number;
  readonly rvps: RvpsConfig;
  readonly tokenBroker: TokenBrokerConfig;
  /** `verifier_config` as given; each verifier parses its own sub-table. */
  readonly verifierConfig: JsonObject;
  /** KBS `storage_type` override for AS data. */
  readonly storageType?: StorageType;
  /** The AS file's `storage_backend` table as given (the service composition root interprets it). */
  readonly storageBackend?: JsonObject;
  /** `coco_as_grpc` only. */
  readonly grpc?: { readonly asAddr: string; readonly poolSize: number };
  /** The table as received, for type-specific keys (e.g. `intel_ta`) read by the KBS. */
  readonly raw: JsonObject;
}

export const TOKEN_BROKER_DEFAULTS: TokenBrokerConfig = {
  durationMin: 5,
  issuerName: 'CoCo-Attestation-Service',
  developerName: 'https://confidentialcontainers.org',
  buildName: 'attestation-service 0.1.0',
  profileName: 'tag:github.com,2024:confidential-containers/Trustee',
  verboseToken: true,
};

export const DEFAULT_RVPS_ADDRESS = 'http://127.0.0.1:50003';

const SERVICE_TYPES: Readonly<Record<string, AttestationServiceType>> = {
  coco_as_builtin: 'coco_as_builtin',
  CoCoASBuiltIn: 'coco_as_builtin',
  coco_as_grpc: 'coco_as_grpc',
  CoCoASGrpc: 'coco_as_grpc',
  intel_ta: 'intel_ta',
  IntelTA: 'intel_ta',
};


/** Largest accepted minute count: keeps `exp` and cookie lifetimes far inside safe integers. */
const MAX_MINUTES = 10 * 365 * 24 * 60;

/**
 * Parses an attestation-service configuration table. `path` prefixes error messages, e.g.
 * `attestation_service` for the KBS TOML table or `as-config.json` for the AS file.
 *
 * @example parseAttestationServiceConfig(toml.attestation_service ?? {}, 'attestation_service')
 * @throws AttestationError `invalid_config` naming the offending key, e.g.
 *   `attestation_service.attestation_token_broker.duration_min: expected a non-negative integer, found string`.
 */
export function parseAttestationServiceConfig(raw: unknown, path: string): AttestationServiceConfig {
  const table = raw === undefined || raw === null ? {} : expectTable(raw, path);
  const typeName = optionalString(table, 'type', path);
  const type = typeName === undefined ? 'coco_as_builtin' : lookup(SERVICE_TYPES, typeName);
  if (type === undefined) fail(`${path}.type`, `unknown attestation service type ${JSON.stringify(typeName)} (coco_as_builtin, coco_as_grpc, intel_ta)`);

  const storageType = optionalStorageType(table, 'storage_type', path);
  const storageBackend = own(table, 'storage_backend');
  const verifierConfig = own(table, 'verifier_config');
  const verifierTables = verifierConfig === undefined || verifierConfig === null ? {} : expectTable(verifierConfig, `${path}.verifier_config`);
  checkVerifierConfigTees(verifierTables, `${path}.verifier_config`);
  const config: AttestationServiceConfig = {
    type,
    timeoutMin: optionalMinutes(table, 'timeout', path) ?? 5,
    rvps: parseRvpsConfig(own(table, 'rvps_config'), `${path}.rvps_config`),
    tokenBroker: parseTokenBrokerConfig(own(table, 'attestation_token_broker'), `${path}.attestation_token_broker`),
    verifierConfig: verifierTables,
    ...(storageType === undefined ? {} : { storageType }),
    ...(storageBackend === undefined || storageBackend === null ? {} : { storageBackend: expectTable(storageBackend, `${path}.storage_backend`) }),
    ...(type === 'coco_as_grpc'
      ? {
          grpc: {
            asAddr: optionalString(table, 'as_addr', path) ?? 'http://127.0.0.1:50004',
            poolSize: optionalInteger(table, 'pool_size', path, 1, 10_000) ?? 100,
          },
        }
      : {}),
    raw: table,
  };
  return config;
}

function parseRvpsConfig(raw: Json | undefined, path: string): RvpsConfig {
  if (raw === undefined || raw === null) return { type: 'BuiltIn' };
  const table = expectTable(raw, path);
  const type = optionalString(table, 'type', path) ?? 'BuiltIn';
  if (type === 'BuiltIn') {
    const storageType = optionalStorageType(table, 'storage_type', path);
    const extractors = own(table, 'extractors');
    return {
      type,
      ...(storageType === undefined ? {} : { storageType }),
      ...(extractors === undefined || extractors === null ? {} : { extractors: expectTable(extractors, `${path}.extractors`) }),
    };
  }
  if (type === 'GrpcRemote') {
    const address = optionalString(table, 'address', path) ?? DEFAULT_RVPS_ADDRESS;
    if (address.length === 0) fail(`${path}.address`, 'must not be empty');
    // Upstream prepends http:// when the address has no scheme.
    return { type, address: /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address) ? address : `http://${address}` };
  }
  return fail(`${path}.type`, `unknown RVPS type ${JSON.stringify(type)} (BuiltIn or GrpcRemote)`);
}

function parseTokenBrokerConfig(raw: Json | undefined, path: string): TokenBrokerConfig {
  if (raw === undefined || raw === null) return TOKEN_BROKER_DEFAULTS;
  const table = expectTable(raw, path);
  const signerRaw = own(table, 'signer');
  const signer = signerRaw === undefined || signerRaw === null ? undefined : parseSigner(signerRaw, `${path}.signer`);
  return {
    durationMin: optionalInteger(table, 'duration_min', path, 0, MAX_MINUTES) ?? TOKEN_BROKER_DEFAULTS.durationMin,
    issuerName: optionalString(table, 'issuer_name', path) ?? TOKEN_BROKER_DEFAULTS.issuerName,
    developerName: optionalString(table, 'developer_name', path) ?? TOKEN_BROKER_DEFAULTS.developerName,
    buildName: optionalString(table, 'build_name', path) ?? TOKEN_BROKER_DEFAULTS.buildName,
    profileName: optionalString(table, 'profile_name', path) ?? TOKEN_BROKER_DEFAULTS.profileName,
    verboseToken: optionalBoolean(table, 'verbose_token', path) ?? TOKEN_BROKER_DEFAULTS.verboseToken,
    ...(signer === undefined ? {} : { signer }),
  };
}

function parseSigner(raw: Json, path: string): TokenSignerConfig {
  const table = expectTable(raw, path);
  const keyPath = optionalString(table, 'key_path', path);
  if (keyPath === undefined) fail(`${path}.key_path`, 'is required when a signer is configured');
  if (keyPath.length === 0) fail(`${path}.key_path`, 'must not be empty');
  const certPath = optionalString(table, 'cert_path', path);
  const certUrl = optionalString(table, 'cert_url', path);
  return { keyPath, ...(certPath === undefined ? {} : { certPath }), ...(certUrl === undefined ? {} : { certUrl }) };
}

function expectTable(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) fail(path, `expected a table/object, found ${jsonKind(value)}`);
  return value;
}

function optionalString(table: JsonObject, key: string, path: string): string | undefined {
  const value = own(table, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${path}.${key}`, `expected a string, found ${jsonKind(value)}`);
  return value;
}

function optionalBoolean(table: JsonObject, key: string, path: string): boolean | undefined {
  const value = own(table, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(`${path}.${key}`, `expected a boolean, found ${jsonKind(value)}`);
  return value;
}

function optionalInteger(table: JsonObject, key: string, path: string, min: number, max: number): number | undefined {
  const value: unknown = own(table, key);
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'bigint' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min) {
    fail(`${path}.${key}`, `expected an integer >= ${min}, found ${jsonKind(value)}`);
  }
  if (number > max) fail(`${path}.${key}`, `must be at most ${max}`);
  return number;
}

/** A positive number of minutes; fractions allowed (the KBS takes e.g. `timeout = 0.05` for 3 s sessions). */
function optionalMinutes(table: JsonObject, key: string, path: string): number | undefined {
  const value: unknown = own(table, key);
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'bigint' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0) fail(`${path}.${key}`, `expected a number of minutes > 0, found ${jsonKind(value)}`);
  if (number > MAX_MINUTES) fail(`${path}.${key}`, `must be at most ${MAX_MINUTES}`);
  return number;
}

function optionalStorageType(table: JsonObject, key: string, path: string): StorageType | undefined {
  const name = optionalString(table, key, path);
  if (name === undefined) return undefined;
  // One list of storage types for the whole project: the storage package's (it knows Sqlite
  // and refuses Postgres/Redis with a message), reported with this config's path.
  try {
    return parseStorageType(name, `${path}.${key}`);
  } catch (error) {
    if (error instanceof StorageError) fail(`${path}.${key}`, error.message.replace(`${path}.${key}: `, ''));
    throw error;
  }
}

function lookup<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function fail(path: string, message: string): never {
  throw new AttestationError('invalid_config', `${path}: ${message}`);
}
