/**
 * The KBS configuration: upstream's file (kbs/src/config.rs `KbsConfig`) as TOML, YAML or JSON
 * (by extension, TOML otherwise), declared as one zod schema. Every upstream key is honoured or
 * refused with its dotted path and the reason; unknown keys are refused naming the nearest known
 * key (`--allow-unknown-config` makes them warnings). Insecure settings and Memory storage load
 * but are reported in `warnings` so the composition root can print them loudly.
 */
import { availableParallelism } from 'node:os';
import { AKV_BACKEND_NAMES, akvBackendFromTable, akvBackendShape, type AkvBackendConfig } from '@trustee/akv';
import { attestationCoreConfig, attestationCoreShape, type AttestationServiceConfig } from '@trustee/attestation/config';
import { fail, readConfigFile, validateConfig } from '@trustee/config';
import { memoryStorageWarning, storageBackendSchema, storageTypeSchema, type StorageBackendConfig, type StorageType } from '@trustee/storage';
import { z } from 'zod';
import { adminSchema, type AdminConfig } from './admin/adminConfig.ts';
import { policyIdMapSchema, type PolicyIdEntry } from './policies/attestationPolicyIds.ts';
import { auditSchema, type AuditConfig } from './audit/auditConfig.ts';
import { tlsServerOptions, type TlsProfile, type TlsServerOptions } from './tlsSettings.ts';

export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

export interface HttpServerConfig {
  readonly sockets: readonly SocketAddress[];
  readonly insecureHttp: boolean;
  readonly privateKey: string | undefined;
  readonly certificate: string | undefined;
  /** `tls_profile` and its overrides as Node TLS options (unused with insecure_http). */
  readonly tls: TlsServerOptions & { readonly profile: TlsProfile };
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
 * trustee-ts extensions). Defaults suit a NATed cluster: a node's ~110
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

/** Session (cookie) lifetime, common to the types with an attestation service. */
interface AttestationServiceCommon {
  /** Session (cookie) lifetime in minutes (`timeout`, default 5; fractions accepted). */
  readonly timeoutMinutes: number;
  /** `policy_id_map`: ids a guest may name in extra-params → AS policy ids (policies/attestationPolicyIds.ts). */
  readonly policyIdMap?: ReadonlyMap<string, PolicyIdEntry> | undefined;
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
  | ({ readonly type: 'coco_as_builtin'; readonly core: AttestationServiceConfig } & AttestationServiceCommon)
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
  /** Insecure settings in use and unknown keys let through by `--allow-unknown-config`, one sentence each. */
  readonly warnings: readonly string[];
}

const DEFAULT_LEGACY_REPOSITORY = '/opt/confidential-containers/kbs/repository';
const MAX_TIMEOUT_MINUTES = 7 * 24 * 60;

const socketSchema = z.string().transform((value, ctx): SocketAddress => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) fail(ctx, [], `expected "ip:port", got ${JSON.stringify(value)}`);
  return { host: match?.[1] ?? match?.[2] ?? '', port };
});

const tlsVersion = z.enum(['1.2', '1.3']);
const integer = (min: number, max: number) => z.number().int().min(min).max(max);

const httpServerSchema = z
  .strictObject({
    sockets: z.array(socketSchema).min(1).optional(),
    insecure_http: z.boolean().optional(),
    private_key: z.string().optional(),
    certificate: z.string().optional(),
    tls_profile: z.enum(['old', 'intermediate', 'modern', 'custom']).optional(),
    tls_min_version: tlsVersion.optional(),
    tls_max_version: tlsVersion.optional(),
    tls_ciphers: z.string().optional(),
    tls_groups: z.string().optional(),
    payload_request_size: integer(1, 1024).optional(),
    worker_count: integer(1, 256).optional(),
    auth_rate_limit_per_ip: integer(0, 1_000_000).optional(),
    auth_rate_burst_per_ip: integer(1, 1_000_000).optional(),
    max_sessions_per_ip: integer(0, 10_000_000).optional(),
    max_sessions: integer(1, 10_000_000).optional(),
    max_session_storage_mib: integer(1, 1_048_576).optional(),
  })
  .transform((raw, ctx): HttpServerConfig => {
    const insecureHttp = raw.insecure_http ?? false;
    if (!insecureHttp && raw.certificate === undefined) fail(ctx, ['certificate'], 'Missing certificate (required unless insecure_http = true)');
    if (!insecureHttp && raw.private_key === undefined) fail(ctx, ['private_key'], 'Missing private key (required unless insecure_http = true)');
    const profile = raw.tls_profile ?? 'intermediate';
    const tls = tlsServerOptions({ profile, minVersion: raw.tls_min_version, maxVersion: raw.tls_max_version, ciphers: raw.tls_ciphers, groups: raw.tls_groups });
    if ('key' in tls) {
      fail(ctx, [tls.key], tls.message);
      return z.NEVER;
    }
    const d = DEFAULT_CLIENT_LIMITS;
    return {
      sockets: raw.sockets ?? [{ host: '127.0.0.1', port: 8080 }],
      insecureHttp,
      privateKey: raw.private_key,
      certificate: raw.certificate,
      tls: { ...tls, profile },
      payloadRequestSizeMiB: raw.payload_request_size ?? 2,
      // Unset (0 here) is resolved once the storage is known, in kbsConfigSchema.
      workerCount: raw.worker_count ?? 0,
      limits: {
        authRatePerIp: raw.auth_rate_limit_per_ip ?? d.authRatePerIp,
        authBurstPerIp: raw.auth_rate_burst_per_ip ?? d.authBurstPerIp,
        maxSessionsPerIp: raw.max_sessions_per_ip ?? d.maxSessionsPerIp,
        maxSessions: raw.max_sessions ?? d.maxSessions,
        maxSessionStorageMiB: raw.max_session_storage_mib ?? d.maxSessionStorageMiB,
      },
    };
  });

const attestationTokenSchema = z
  .strictObject({
    trusted_certs_paths: z.array(z.string()).optional(),
    trusted_jwk_sets: z.array(z.string()).optional(),
    extra_teekey_paths: z.array(z.string().refine((pointer) => pointer === '' || pointer.startsWith('/'), 'expected a JSON pointer starting with "/"')).optional(),
    insecure_header_jwk: z.boolean().optional(),
  })
  // Absent means upstream's default table, which trusts nothing.
  .optional()
  .transform((raw, ctx): AttestationTokenConfig => {
    const config = {
      trustedCertsPaths: raw?.trusted_certs_paths ?? [],
      trustedJwkSets: raw?.trusted_jwk_sets ?? [],
      extraTeekeyPaths: raw?.extra_teekey_paths ?? [],
      insecureHeaderJwk: raw?.insecure_header_jwk ?? false,
    };
    // Upstream's kbs/src/token/jwk.rs refuses to start with nothing to trust, too.
    if (config.trustedCertsPaths.length === 0 && config.trustedJwkSets.length === 0 && !config.insecureHeaderJwk) {
      fail(ctx, [], 'trusted_certs_paths or trusted_jwk_sets required (or insecure_header_jwk = true): tokens, including those of attested sessions, are always re-verified');
    }
    return config;
  });

const SERVICE_TYPES = { coco_as_builtin: 'coco_as_builtin', CoCoASBuiltIn: 'coco_as_builtin', coco_as_grpc: 'coco_as_grpc', CoCoASGrpc: 'coco_as_grpc', none: 'none', None: 'none' } as const;
const GRPC_KEYS = ['as_addr', 'pool_size', 'tls_mode', 'ca_cert_path'] as const;
const BUILTIN_KEYS = ['rvps_config', 'attestation_token_broker', 'verifier_config'] as const;
const INTEL_TA_KEYS = ['base_url', 'api_key', 'certs_file', 'allow_unmatched_policy', 'policy_ids'] as const;
const refusedHere = z.unknown().optional();

const attestationServiceSchema = z
  .strictObject({
    type: z.string().optional(),
    // Upstream takes whole minutes; a fraction (e.g. 0.05 = 3 s) is accepted for tests and demos.
    timeout: z.number().positive().max(MAX_TIMEOUT_MINUTES).optional(),
    ...attestationCoreShape,
    as_addr: z.string().optional(),
    pool_size: integer(1, 10_000).optional(),
    tls_mode: z.enum(['insecure', 'tls']).optional(),
    ca_cert_path: z.string().optional(),
    // Attestation policy selection by id (upstream PR #1521; policies/attestationPolicyIds.ts).
    policy_id_map: policyIdMapSchema.optional(),
    // Upstream's AS config has it, but a KBS's builtin AS stores in the top-level [storage_backend].
    storage_backend: refusedHere,
    ...Object.fromEntries(INTEL_TA_KEYS.map((key) => [key, refusedHere])),
  })
  .transform((raw, ctx): AttestationServiceSection => {
    const typeName = raw.type ?? 'coco_as_builtin';
    const type = Object.hasOwn(SERVICE_TYPES, typeName) ? SERVICE_TYPES[typeName as keyof typeof SERVICE_TYPES] : undefined;
    if (type === undefined) {
      const why = typeName === 'intel_ta' || typeName === 'IntelTA' ? ': Intel Trust Authority is not built in trustee-ts' : ' is not supported by trustee-ts';
      fail(ctx, ['type'], `"${typeName}"${why} (supported: coco_as_builtin, coco_as_grpc, none)`);
      return z.NEVER;
    }
    const present = (keys: readonly string[]): string[] => keys.filter((key) => (raw as Record<string, unknown>)[key] !== undefined);
    for (const key of present(INTEL_TA_KEYS)) fail(ctx, [key], 'an intel_ta key; Intel Trust Authority is not built in trustee-ts');
    if (raw.storage_backend !== undefined) fail(ctx, ['storage_backend'], "the KBS's builtin attestation service keeps its data in the top-level [storage_backend]; move this table there");
    if (type !== 'coco_as_grpc') for (const key of present(GRPC_KEYS)) fail(ctx, [key], 'applies to type = "coco_as_grpc" only');
    if (type !== 'coco_as_builtin') for (const key of present(BUILTIN_KEYS)) fail(ctx, [key], `applies to type = "coco_as_builtin" only${type === 'coco_as_grpc' ? ' (the remote AS reads its own as-config.json)' : ''}`);
    if (type === 'none') {
      if (raw.timeout !== undefined) fail(ctx, ['timeout'], 'there are no sessions with type = "none"');
      if (raw.policy_id_map !== undefined) fail(ctx, ['policy_id_map'], 'there is no attestation with type = "none"');
      return { type };
    }
    const timeoutMinutes = raw.timeout ?? 5;
    const policyIdMap = raw.policy_id_map;
    if (type === 'coco_as_builtin') return { type, timeoutMinutes, policyIdMap, core: attestationCoreConfig(raw) };
    return { type, timeoutMinutes, policyIdMap, grpc: grpcAttestationService(raw, ctx) };
  });

/** Upstream's `GrpcConfig`: `as_addr` with an explicit scheme, `pool_size`, `tls_mode` + `ca_cert_path`. */
function grpcAttestationService(raw: { as_addr?: string | undefined; pool_size?: number | undefined; tls_mode?: 'insecure' | 'tls' | undefined; ca_cert_path?: string | undefined }, ctx: z.RefinementCtx): GrpcAttestationServiceConfig {
  const asAddr = raw.as_addr ?? 'http://127.0.0.1:50004';
  const url = URL.canParse(asAddr) ? new URL(asAddr) : undefined;
  const fallback = { asAddr, poolSize: 100, caCertPath: undefined };
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(ctx, ['as_addr'], `must start with http:// or https://, got ${JSON.stringify(asAddr)} (e.g. "http://as:50004")`);
    return fallback;
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    fail(ctx, ['as_addr'], `expected scheme://host:port only, got ${JSON.stringify(asAddr)}`);
  }
  const tls = url.protocol === 'https:';
  if (raw.tls_mode === 'tls' && !tls) fail(ctx, ['tls_mode'], `"tls" requires https:// in as_addr, got ${JSON.stringify(asAddr)}`);
  if (raw.tls_mode === 'insecure' && tls) fail(ctx, ['tls_mode'], `"insecure" requires http:// in as_addr, got ${JSON.stringify(asAddr)}`);
  if (raw.ca_cert_path !== undefined && !tls) fail(ctx, ['ca_cert_path'], 'only used with an https:// as_addr');
  return { asAddr: `${url.protocol}//${url.host}`, poolSize: raw.pool_size ?? 100, caCertPath: raw.ca_cert_path };
}

const akvKeys = Object.keys(akvBackendShape);
const pluginSchema = z
  .strictObject({
    name: z.string(),
    storage_backend_type: z.string().optional(),
    dir_path: z.string().optional(),
    item: z.string().optional(),
    // upstream's "external" gRPC plugin gateway: named so the refusal is about the plugin, not the key
    backends: refusedHere,
    ...z.object(akvBackendShape).partial().shape,
  })
  .transform((raw, ctx): PluginConfig => {
    const allowOnly = (allowed: readonly string[], what: string): void => {
      for (const [key, value] of Object.entries(raw)) if (value !== undefined && !allowed.includes(key)) fail(ctx, [key], `does not apply to ${what}`);
    };
    switch (raw.name) {
      case 'sample':
      case 'Sample':
        allowOnly(['name', 'item'], 'the sample plugin');
        if (raw.item === undefined) fail(ctx, ['item'], 'required');
        return { name: 'sample', item: raw.item ?? '' };
      case 'resource':
      case 'Resource': {
        const backend = raw.storage_backend_type ?? 'kvstorage';
        if (backend === 'kvstorage' || backend === 'KvStorage') {
          allowOnly(['name', 'storage_backend_type'], 'storage_backend_type = "kvstorage" (it stores in [storage_backend])');
          return { name: 'resource', backend: 'kvstorage' };
        }
        if (backend === 'LocalFs' || backend === 'local_fs') {
          allowOnly(['name', 'storage_backend_type', 'dir_path'], 'storage_backend_type = "LocalFs"');
          return { name: 'resource', backend: 'LocalFs', dirPath: raw.dir_path ?? DEFAULT_LEGACY_REPOSITORY };
        }
        if (AKV_BACKEND_NAMES.includes(backend)) {
          allowOnly(['name', 'storage_backend_type', ...akvKeys], 'storage_backend_type = "AzureKeyVault"');
          if (raw.vault_url === undefined) {
            fail(ctx, ['vault_url'], 'required (e.g. "https://my-vault.vault.azure.net")');
            return z.NEVER;
          }
          return { name: 'resource', backend: 'AzureKeyVault', akv: akvBackendFromTable({ ...raw, vault_url: raw.vault_url }, ctx) };
        }
        fail(ctx, ['storage_backend_type'], `"${backend}" is not supported by trustee-ts (supported: kvstorage, LocalFs, AzureKeyVault)`);
        return z.NEVER;
      }
      case 'external':
        fail(ctx, ['name'], 'plugin "external" (upstream\'s gRPC plugin gateway) is not built in trustee-ts (supported: resource, sample)');
        return z.NEVER;
      default:
        fail(ctx, ['name'], `plugin "${raw.name}" is not supported by trustee-ts (supported: resource, sample)`);
        return z.NEVER;
    }
  });

/** The default `worker_count`: the cores this process may run on (at most the key's limit, 256). */
export function defaultWorkerCount(): number {
  return Math.min(Math.max(availableParallelism(), 1), 256);
}

/** Memory is per process; LocalJson rewrites whole files, safe within one process only. */
const multiProcessSafe = (type: StorageType): boolean => type === 'Sqlite' || type === 'LocalFs' || type === 'Postgres' || type === 'Redis';

/** The whole KBS config file. */
export function kbsConfigSchema(env: Readonly<Record<string, string | undefined>> = process.env) {
  return z
    .strictObject({
      http_server: httpServerSchema,
      attestation_token: attestationTokenSchema,
      attestation_service: attestationServiceSchema.optional(),
      admin: adminSchema,
      storage_backend: storageBackendSchema('storage_backend', env),
      session_storage_type: storageTypeSchema.optional(),
      plugins: z.array(pluginSchema).optional(),
      audit: auditSchema,
    })
    .transform((raw, ctx): Omit<KbsConfig, 'warnings'> => {
      const storage = raw.storage_backend;
      const sessionStorageType = raw.session_storage_type;
      for (const [type, path] of [
        [sessionStorageType, ['session_storage_type']],
        [raw.attestation_service?.type === 'coco_as_builtin' && raw.attestation_service.core.rvps.type === 'BuiltIn' ? raw.attestation_service.core.rvps.storageType : undefined, ['attestation_service', 'rvps_config', 'storage_type']],
      ] as const) {
        if (type === 'Postgres' && storage.postgres === undefined) fail(ctx, path, 'Postgres needs storage_backend.backends.postgres (or POSTGRES_URL)');
        if (type === 'Redis' && storage.redis === undefined) fail(ctx, path, 'Redis needs storage_backend.backends.redis (or REDIS_URL)');
      }
      const shareable = multiProcessSafe(storage.storageType) && multiProcessSafe(sessionStorageType ?? storage.storageType);
      if (raw.http_server.workerCount > 1 && !shareable) {
        fail(ctx, ['http_server', 'worker_count'], 'several workers need a store shared safely between processes (storage_backend Sqlite, LocalFs, Postgres or Redis)');
      }
      // worker_count unset: one process per core when the stores can be shared (sessions and the
      // single-use challenge claim live in the store, so any worker serves any RCAR step), else 1.
      const httpServer = raw.http_server.workerCount === 0 ? { ...raw.http_server, workerCount: shareable ? defaultWorkerCount() : 1 } : raw.http_server;
      const plugins = raw.plugins ?? [];
      plugins.forEach((plugin, index) => {
        if (plugins.findIndex((other) => other.name === plugin.name) !== index) fail(ctx, ['plugins', index, 'name'], `plugin "${plugin.name}" configured twice`);
      });
      return {
        httpServer,
        attestationToken: raw.attestation_token,
        attestationService: raw.attestation_service ?? { type: 'coco_as_builtin', timeoutMinutes: 5, core: attestationCoreConfig({}) },
        admin: raw.admin,
        storage,
        sessionStorageType,
        plugins,
        audit: raw.audit,
      };
    });
}

export interface ParseKbsConfigOptions {
  /** File name for messages. */
  readonly where?: string;
  /** `--allow-unknown-config`: unknown keys become warnings. */
  readonly allowUnknown?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Validates a decoded config document. Relative paths stay relative to the working directory, like upstream. */
export function parseKbsConfig(raw: unknown, options: ParseKbsConfigOptions = {}): KbsConfig {
  const { value, warnings: unknownKeys } = validateConfig(kbsConfigSchema(options.env), raw, options);
  const { httpServer, attestationToken, admin, storage } = value;
  const warnings: string[] = [...unknownKeys];
  const memory = memoryStorageWarning(storage, 'resources, the resource policy and RCAR sessions');
  if (memory !== undefined) warnings.push(memory);
  if (httpServer.insecureHttp) warnings.push('http_server.insecure_http = true: the KBS serves plain HTTP; secrets and admin tokens travel unencrypted outside a trusted network');
  if (attestationToken.insecureHeaderJwk) warnings.push('attestation_token.insecure_header_jwk = true: any token carrying its own key in the header is trusted; anyone can mint tokens that release secrets');
  if (httpServer.limits.authRatePerIp === 0) warnings.push('http_server.auth_rate_limit_per_ip = 0: one client may open sessions as fast as it can send /auth');
  if (httpServer.limits.maxSessionsPerIp === 0) warnings.push('http_server.max_sessions_per_ip = 0: one client may hold every session slot until the global cap evicts it');
  if (admin.mode === 'InsecureAllowAll') warnings.push('admin.authorization_mode = "InsecureAllowAll": every admin endpoint is open to anyone who can reach the KBS');
  if (!value.audit.enabled) warnings.push('audit.enabled = false: releases, denials and admin changes leave no audit record');
  return { ...value, warnings };
}

/** Reads a config file (TOML, YAML or JSON by extension; TOML otherwise) and validates it. */
export async function loadKbsConfig(file: string, options: Omit<ParseKbsConfigOptions, 'where'> = {}): Promise<KbsConfig> {
  return parseKbsConfig(await readConfigFile(file, { defaultFormat: 'toml' }), { ...options, where: file });
}
