/**
 * The KBS configuration: upstream's TOML (T:kbs/src/config.rs) read as-is — upstream's sample
 * configs load unchanged — validated at start with path-precise messages. Unknown keys are
 * ignored like upstream except inside `[admin]` (deny_unknown_fields) and `[storage_backend]`,
 * and a top-level key that looks like a typo of `storage_backend` / `session_storage_type` is
 * refused (a lost storage setting would silently give Memory). Insecure settings and Memory
 * storage load but are reported in `warnings` so the composition root can print them loudly.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parse as parseToml } from 'smol-toml';
import {
  assertBackendConfigured,
  memoryStorageWarning,
  nearestName,
  parseStorageBackendConfig,
  parseStorageType,
  StorageError,
  type StorageBackendConfig,
  type StorageType,
} from '@trustee/storage';
import { AKV_BACKEND_NAMES, parseAkvBackendConfig, type AkvBackendConfig } from '@trustee/akv';
import { parseAdminConfig, type AdminConfig } from './admin/adminConfig.ts';
import { parseAuditConfig, type AuditConfig } from './audit/auditConfig.ts';
import {
  ConfigError,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalTable,
  requiredString,
  stringArray,
  table,
  tableArray,
  type Table,
} from './configError.ts';

export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

export interface HttpServerConfig {
  readonly sockets: readonly SocketAddress[];
  readonly insecureHttp: boolean;
  readonly privateKey: string | undefined;
  readonly certificate: string | undefined;
  readonly payloadRequestSizeMiB: number;
  /**
   * Server processes (upstream `worker_count`). Unset: one per core (`os.availableParallelism()`)
   * when the storage and session storage can be shared between processes (Sqlite, LocalFs,
   * Postgres, Redis), else 1. Several processes need such a store; with Memory or LocalJson only
   * 1 is accepted.
   */
  readonly workerCount: number;
  /** Client limits (our extension, services/kbs/README.md "Limits"). */
  readonly limits: ClientLimitsConfig;
}

/**
 * Per-client and global bounds on what unauthenticated clients can hold (`[http_server]` keys,
 * trustee-ts extensions that upstream ignores). Defaults suit a NATed cluster: a node's ~110
 * pods behind one address may all start at once.
 */
export interface ClientLimitsConfig {
  /** `auth_rate_limit_per_ip`: sustained /auth requests per second per client address; 0 = off. */
  readonly authRatePerIp: number;
  /** `auth_rate_burst_per_ip`: /auth requests a quiet address may send at once. */
  readonly authBurstPerIp: number;
  /** `max_sessions_per_ip`: open (unexpired) sessions per client address; 0 = off. */
  readonly maxSessionsPerIp: number;
  /** `max_sessions`: open sessions per KBS process. */
  readonly maxSessions: number;
  /** `max_session_storage_mib`: stored session bytes per KBS process (and its token cache). */
  readonly maxSessionStorageMiB: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimitsConfig = {
  authRatePerIp: 20,
  authBurstPerIp: 200,
  maxSessionsPerIp: 1024,
  maxSessions: 100_000,
  maxSessionStorageMiB: 256,
};

export interface AttestationTokenConfig {
  readonly trustedCertsPaths: string[];
  readonly trustedJwkSets: string[];
  readonly extraTeekeyPaths: string[];
  readonly insecureHeaderJwk: boolean;
}

/** Session (cookie) lifetime and the raw table, common to the types with an attestation service. */
interface AttestationServiceCommon {
  /** Session (cookie) lifetime in minutes (`timeout`, default 5; fractions accepted). */
  readonly timeoutMinutes: number;
  /** The raw table, for @trustee/attestation's `parseAttestationServiceConfig`. */
  readonly raw: Table;
}

/** `coco_as_grpc`: a remote attestation service (upstream grpc-as / `services/as`) over gRPC. */
export interface GrpcAttestationServiceConfig {
  /** `http://host:port` or `https://host:port` (upstream requires the scheme). */
  readonly asAddr: string;
  /** Most RPCs in flight at once (upstream: connections in the pool), default 100. */
  readonly poolSize: number;
  /** `https://` only: PEM CA bundle to verify the AS certificate (absent: the system roots). */
  readonly caCertPath: string | undefined;
}

/**
 * `[attestation_service]`: the builtin AS (default, upstream's default too), a remote AS over
 * gRPC, or `type = "none"` — our explicit form of upstream's separately built passport resource
 * KBS: no `/auth`, `/attest`, attestation-policy or reference-value endpoints (404
 * PluginNotFound), resources released only against Bearer tokens from `[attestation_token]`.
 */
export type AttestationServiceSection =
  | ({ readonly type: 'coco_as_builtin' } & AttestationServiceCommon)
  | ({ readonly type: 'coco_as_grpc'; readonly grpc: GrpcAttestationServiceConfig } & AttestationServiceCommon)
  | { readonly type: 'none' };

export type PluginConfig =
  | { readonly name: 'resource'; readonly backend: 'kvstorage' }
  | { readonly name: 'resource'; readonly backend: 'LocalFs'; readonly dirPath: string }
  | { readonly name: 'resource'; readonly backend: 'AzureKeyVault'; readonly akv: AkvBackendConfig }
  | { readonly name: 'sample'; readonly item: string };

export interface KbsConfig {
  readonly httpServer: HttpServerConfig;
  readonly attestationToken: AttestationTokenConfig;
  readonly attestationService: AttestationServiceSection;
  readonly admin: AdminConfig;
  readonly storage: StorageBackendConfig;
  readonly sessionStorageType: StorageType | undefined;
  readonly plugins: readonly PluginConfig[];
  /** `[audit]`: the audit trail (our extension). */
  readonly audit: AuditConfig;
  /** Insecure settings in use, one sentence each. */
  readonly warnings: readonly string[];
}

const DEFAULT_LEGACY_REPOSITORY = '/opt/confidential-containers/kbs/repository';

function parseSocket(value: string, path: string): SocketAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) throw new ConfigError(`${path}: expected "ip:port", got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2] ?? '', port };
}

function parseHttpServer(raw: unknown, path: string): HttpServerConfig {
  if (raw === undefined) throw new ConfigError(`${path}: the [http_server] table is required`);
  const http = table(raw, path);
  const socketStrings = http['sockets'] === undefined ? ['127.0.0.1:8080'] : stringArray(http, 'sockets', path);
  if (socketStrings.length === 0) throw new ConfigError(`${path}.sockets: at least one socket required`);
  const sockets = socketStrings.map((socket, index) => parseSocket(socket, `${path}.sockets[${index}]`));
  const insecureHttp = optionalBoolean(http, 'insecure_http', path) ?? false;
  const privateKey = optionalString(http, 'private_key', path);
  const certificate = optionalString(http, 'certificate', path);
  if (!insecureHttp && certificate === undefined) throw new ConfigError(`${path}.certificate: Missing certificate (required unless insecure_http = true)`);
  if (!insecureHttp && privateKey === undefined) throw new ConfigError(`${path}.private_key: Missing private key (required unless insecure_http = true)`);
  const payloadRequestSizeMiB = optionalInteger(http, 'payload_request_size', path, 1, 1024) ?? 2;
  // Unset (undefined here) is resolved in parseKbsConfig, once the storage is known.
  const workerCount = optionalInteger(http, 'worker_count', path, 1, 256) ?? 0;
  const d = DEFAULT_CLIENT_LIMITS;
  const limits: ClientLimitsConfig = {
    authRatePerIp: optionalInteger(http, 'auth_rate_limit_per_ip', path, 0, 1_000_000) ?? d.authRatePerIp,
    authBurstPerIp: optionalInteger(http, 'auth_rate_burst_per_ip', path, 1, 1_000_000) ?? d.authBurstPerIp,
    maxSessionsPerIp: optionalInteger(http, 'max_sessions_per_ip', path, 0, 10_000_000) ?? d.maxSessionsPerIp,
    maxSessions: optionalInteger(http, 'max_sessions', path, 1, 10_000_000) ?? d.maxSessions,
    maxSessionStorageMiB: optionalInteger(http, 'max_session_storage_mib', path, 1, 1_048_576) ?? d.maxSessionStorageMiB,
  };
  return { sockets, insecureHttp, privateKey, certificate, payloadRequestSizeMiB, workerCount, limits };
}

/** The default `worker_count`: the cores this process may run on (at most the key's limit, 256). */
export function defaultWorkerCount(): number {
  return Math.min(Math.max(availableParallelism(), 1), 256);
}

function parseAttestationToken(raw: unknown, path: string): AttestationTokenConfig {
  const token = raw === undefined ? {} : table(raw, path);
  const config = {
    trustedCertsPaths: stringArray(token, 'trusted_certs_paths', path),
    trustedJwkSets: stringArray(token, 'trusted_jwk_sets', path),
    extraTeekeyPaths: stringArray(token, 'extra_teekey_paths', path),
    insecureHeaderJwk: optionalBoolean(token, 'insecure_header_jwk', path) ?? false,
  };
  config.extraTeekeyPaths.forEach((pointer, index) => {
    if (pointer !== '' && !pointer.startsWith('/')) throw new ConfigError(`${path}.extra_teekey_paths[${index}]: expected a JSON pointer starting with "/"`);
  });
  if (config.trustedCertsPaths.length === 0 && config.trustedJwkSets.length === 0 && !config.insecureHeaderJwk) {
    throw new ConfigError(`${path}: trusted_certs_paths or trusted_jwk_sets required (or insecure_header_jwk = true): tokens, including those of attested sessions, are always re-verified`);
  }
  return config;
}

const SERVICE_TYPES: Readonly<Record<string, AttestationServiceSection['type']>> = {
  coco_as_builtin: 'coco_as_builtin',
  CoCoASBuiltIn: 'coco_as_builtin',
  coco_as_grpc: 'coco_as_grpc',
  CoCoASGrpc: 'coco_as_grpc',
  none: 'none',
  None: 'none',
};

const MAX_TIMEOUT_MINUTES = 7 * 24 * 60;

function parseAttestationService(raw: unknown, path: string): AttestationServiceSection {
  const section = raw === undefined ? {} : table(raw, path);
  const typeName = optionalString(section, 'type', path) ?? 'coco_as_builtin';
  const type = Object.hasOwn(SERVICE_TYPES, typeName) ? SERVICE_TYPES[typeName] : undefined;
  if (type === undefined) {
    throw new ConfigError(`${path}.type: "${typeName}" is not supported by trustee-ts (supported: coco_as_builtin, coco_as_grpc, none)`);
  }
  if (type === 'none') return { type };
  // Upstream takes whole minutes; a fraction (e.g. 0.05 = 3 s) is accepted for tests and demos.
  const timeout = section['timeout'];
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_TIMEOUT_MINUTES)) {
    throw new ConfigError(`${path}.timeout: expected a number of minutes greater than 0 and at most ${MAX_TIMEOUT_MINUTES}`);
  }
  const timeoutMinutes = timeout ?? 5;
  if (type === 'coco_as_builtin') return { type, timeoutMinutes, raw: section };
  return { type, timeoutMinutes, raw: section, grpc: parseGrpcAttestationService(section, path) };
}

/** Upstream's `GrpcConfig`: `as_addr` with an explicit scheme, `pool_size`, `tls_mode` + `ca_cert_path`. */
function parseGrpcAttestationService(section: Table, path: string): GrpcAttestationServiceConfig {
  const asAddr = optionalString(section, 'as_addr', path) ?? 'http://127.0.0.1:50004';
  let url: URL | undefined;
  try {
    url = new URL(asAddr);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${path}.as_addr: must start with http:// or https://, got ${JSON.stringify(asAddr)} (e.g. "http://as:50004")`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(`${path}.as_addr: expected scheme://host:port only, got ${JSON.stringify(asAddr)}`);
  }
  const tls = url.protocol === 'https:';
  const tlsMode = optionalString(section, 'tls_mode', path);
  if (tlsMode !== undefined && tlsMode !== 'insecure' && tlsMode !== 'tls') throw new ConfigError(`${path}.tls_mode: expected "insecure" or "tls", got ${JSON.stringify(tlsMode)}`);
  if (tlsMode === 'tls' && !tls) throw new ConfigError(`${path}.tls_mode: "tls" requires https:// in as_addr, got ${JSON.stringify(asAddr)}`);
  if (tlsMode === 'insecure' && tls) throw new ConfigError(`${path}.tls_mode: "insecure" requires http:// in as_addr, got ${JSON.stringify(asAddr)}`);
  const caCertPath = optionalString(section, 'ca_cert_path', path);
  if (caCertPath !== undefined && !tls) throw new ConfigError(`${path}.ca_cert_path: only used with an https:// as_addr`);
  const poolSize = optionalInteger(section, 'pool_size', path, 1, 10_000) ?? 100;
  return { asAddr: `${url.protocol}//${url.host}`, poolSize, caCertPath };
}

function parsePlugins(root: Table, path: string): PluginConfig[] {
  const plugins = tableArray(root, 'plugins', path).map((plugin, index): PluginConfig => {
    const at = `${path}[${index}]`;
    const name = requiredString(plugin, 'name', at);
    switch (name) {
      case 'resource':
      case 'Resource': {
        const backend = optionalString(plugin, 'storage_backend_type', at) ?? 'kvstorage';
        if (backend === 'kvstorage' || backend === 'KvStorage') return { name: 'resource', backend: 'kvstorage' };
        if (backend === 'LocalFs' || backend === 'local_fs') {
          return { name: 'resource', backend: 'LocalFs', dirPath: optionalString(plugin, 'dir_path', at) ?? DEFAULT_LEGACY_REPOSITORY };
        }
        if (AKV_BACKEND_NAMES.includes(backend)) {
          try {
            return { name: 'resource', backend: 'AzureKeyVault', akv: parseAkvBackendConfig(plugin, at) };
          } catch (error) {
            if (error instanceof StorageError) throw new ConfigError(error.message);
            throw error;
          }
        }
        throw new ConfigError(`${at}.storage_backend_type: "${backend}" is not supported by trustee-ts (supported: kvstorage, LocalFs, AzureKeyVault)`);
      }
      case 'sample':
      case 'Sample':
        return { name: 'sample', item: requiredString(plugin, 'item', at) };
      default:
        throw new ConfigError(`${at}.name: plugin "${name}" is not supported by trustee-ts (supported: resource, sample)`);
    }
  });
  const seen = new Set<string>();
  plugins.forEach((plugin, index) => {
    if (seen.has(plugin.name)) throw new ConfigError(`${path}[${index}].name: plugin "${plugin.name}" configured twice`);
    seen.add(plugin.name);
  });
  return plugins;
}

/** Top-level storage keys; upstream ignores unknown top-level keys, but a typo of these would silently give Memory. */
const ROOT_STORAGE_KEYS = ['storage_backend', 'session_storage_type'] as const;

function assertNoMisspelledStorageKey(root: Table): void {
  for (const key of Object.keys(root)) {
    if ((ROOT_STORAGE_KEYS as readonly string[]).includes(key)) continue;
    const nearest = nearestName(key, ROOT_STORAGE_KEYS);
    if (nearest !== undefined) throw new ConfigError(`${key}: unknown key (did you mean "${nearest}"?)`);
  }
}

/** Validates a parsed TOML document. Relative paths stay relative to the working directory, like upstream. */
export function parseKbsConfig(raw: unknown): KbsConfig {
  const root = table(raw, '(root)');
  let httpServer = parseHttpServer(root['http_server'], 'http_server');
  const attestationToken = parseAttestationToken(root['attestation_token'], 'attestation_token');
  const attestationService = parseAttestationService(root['attestation_service'], 'attestation_service');
  const admin = parseAdminConfig(root['admin'], 'admin');
  assertNoMisspelledStorageKey(root);
  let storage: StorageBackendConfig;
  let sessionStorageType: StorageType | undefined;
  try {
    storage = parseStorageBackendConfig(root['storage_backend'], 'storage_backend');
    sessionStorageType = root['session_storage_type'] === undefined ? undefined : parseStorageType(root['session_storage_type'], 'session_storage_type');
    if (sessionStorageType !== undefined) assertBackendConfigured(storage, sessionStorageType);
  } catch (error) {
    if (error instanceof StorageError) throw new ConfigError(error.message);
    throw error;
  }
  optionalTable(root, 'policy_engine', '(root)');
  // Memory is per process; LocalJson rewrites whole files, safe within one process only.
  const multiProcessSafe = (type: StorageType): boolean => type === 'Sqlite' || type === 'LocalFs' || type === 'Postgres' || type === 'Redis';
  const shareable = multiProcessSafe(storage.storageType) && multiProcessSafe(sessionStorageType ?? storage.storageType);
  if (httpServer.workerCount > 1 && !shareable) {
    throw new ConfigError('http_server.worker_count: several workers need a store shared safely between processes (storage_backend Sqlite, LocalFs, Postgres or Redis)');
  }
  // worker_count unset: one process per core when the stores can be shared (sessions and the
  // single-use challenge claim live in the store, so any worker serves any RCAR step), else 1.
  if (httpServer.workerCount === 0) httpServer = { ...httpServer, workerCount: shareable ? defaultWorkerCount() : 1 };
  const plugins = parsePlugins(root, 'plugins');
  const audit = parseAuditConfig(root['audit'], 'audit');

  const warnings: string[] = [];
  const memory = memoryStorageWarning(storage, 'resources, the resource policy and RCAR sessions');
  if (memory !== undefined) warnings.push(memory);
  if (httpServer.insecureHttp) warnings.push('http_server.insecure_http = true: the KBS serves plain HTTP; secrets and admin tokens travel unencrypted outside a trusted network');
  if (attestationToken.insecureHeaderJwk) warnings.push('attestation_token.insecure_header_jwk = true: any token carrying its own key in the header is trusted; anyone can mint tokens that release secrets');
  if (httpServer.limits.authRatePerIp === 0) warnings.push('http_server.auth_rate_limit_per_ip = 0: one client may open sessions as fast as it can send /auth');
  if (httpServer.limits.maxSessionsPerIp === 0) warnings.push('http_server.max_sessions_per_ip = 0: one client may hold every session slot until the global cap evicts it');
  if (admin.mode === 'InsecureAllowAll') warnings.push('admin.authorization_mode = "InsecureAllowAll": every admin endpoint is open to anyone who can reach the KBS');
  if (!audit.enabled) warnings.push('audit.enabled = false: releases, denials and admin changes leave no audit record');
  return { httpServer, attestationToken, attestationService, admin, storage, sessionStorageType, plugins, audit, warnings };
}

/** Reads and parses a TOML config file. */
export async function loadKbsConfig(file: string): Promise<KbsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new ConfigError(`${file}: invalid TOML: ${(error as Error).message}`);
  }
  return parseKbsConfig(raw);
}
