/**
 * KBS configuration files in upstream's TOML format (upstream trustee `kbs/docs/config.md`), as an
 * operator migrating from Rust Trustee would have them: `AuthenticatedAuthorization` with an
 * Ed25519 `public_key_uri`, `insecure_http = true`, builtin AS, resource plugin on `kvstorage`.
 */
import { join } from 'node:path';

export type TokenTrust =
  | { readonly kind: 'insecure-header-jwk' }
  | { readonly kind: 'cert-chain'; readonly signerKeyPath: string; readonly signerCertChainPath: string; readonly caCertPath: string };

export type Storage =
  | { readonly kind: 'LocalFs'; readonly dir: string }
  | { readonly kind: 'Sqlite'; readonly path: string }
  /** Upstream's `[storage_backend.backends.postgres]` fields (trust auth: no password). */
  | { readonly kind: 'Postgres'; readonly host: string; readonly port: number; readonly db: string; readonly username: string }
  | { readonly kind: 'Memory' };

export interface KbsConfigOptions {
  readonly adminPublicKeyPath: string;
  readonly storage: Storage;
  readonly tokenTrust: TokenTrust;
  /** Top-level `session_storage_type = "Redis"` with `[storage_backend.backends.redis] url`. */
  readonly redisSessions?: { readonly url: string };
  /** `[attestation_service] timeout`, minutes (session lifetime). */
  readonly sessionTimeoutMinutes?: number;
  /**
   * `[attestation_service] type = "coco_as_grpc"` at this `as_addr` (upstream's compose
   * `kbs-config.toml`) instead of the builtin AS; `tokenTrust` still names what tokens are trusted.
   */
  readonly grpcAttestationService?: { readonly asAddr: string; readonly poolSize?: number };
  /** `[http_server] payload_request_size`, MiB. */
  readonly payloadRequestSizeMiB?: number;
  /**
   * `[http_server] worker_count` (node:cluster workers sharing the socket). Default 1: the e2e
   * suites count per-process limits and metrics; `'unset'` leaves the key out (the KBS default,
   * one worker per core).
   */
  readonly workerCount?: number | 'unset';
  /** Extra keys for the `[[plugins]] name = "resource"` table, e.g. an AzureKeyVault backend. */
  readonly resourcePlugin?: Readonly<Record<string, string | number | boolean>>;
  /** Serve HTTPS with this key and certificate chain instead of `insecure_http = true`. */
  readonly tls?: {
    readonly privateKeyPath: string;
    readonly certificatePath: string;
    /** `tls_profile`, `tls_min_version`, ... as they are written in `[http_server]`. */
    readonly settings?: Readonly<Record<string, string>>;
  };
  readonly issuer?: string;
  /** `audience` of the identity provider (optional upstream). */
  readonly audience?: string;
  /** Extra `regex_acl` entries after `{role = "admin", allowed_endpoints = "^/kbs/.+$"}`. */
  readonly extraAcls?: ReadonlyArray<{ readonly role: string; readonly allowedEndpoints: string }>;
}

const q = (value: string): string => JSON.stringify(value);

export function kbsConfigToml(options: KbsConfigOptions): string {
  const lines: string[] = [
    // A top-level key: it must come before the first table.
    ...(options.redisSessions === undefined ? [] : ['session_storage_type = "Redis"', '']),
    '[http_server]',
    'sockets = ["127.0.0.1:0"]',
  ];
  if (options.tls === undefined) lines.push('insecure_http = true');
  else {
    lines.push('insecure_http = false', `private_key = ${q(options.tls.privateKeyPath)}`, `certificate = ${q(options.tls.certificatePath)}`);
    for (const [key, value] of Object.entries(options.tls.settings ?? {})) lines.push(`${key} = ${q(value)}`);
  }
  if (options.payloadRequestSizeMiB !== undefined) lines.push(`payload_request_size = ${options.payloadRequestSizeMiB}`);
  if (options.workerCount !== 'unset') lines.push(`worker_count = ${options.workerCount ?? 1}`);
  lines.push('', '[attestation_token]');
  if (options.tokenTrust.kind === 'insecure-header-jwk') {
    lines.push('insecure_header_jwk = true');
  } else {
    lines.push(`trusted_certs_paths = [${q(options.tokenTrust.caCertPath)}]`, 'insecure_header_jwk = false');
  }
  if (options.grpcAttestationService !== undefined) {
    const { asAddr, poolSize } = options.grpcAttestationService;
    lines.push('', '[attestation_service]', 'type = "coco_as_grpc"', `as_addr = ${q(asAddr)}`);
    if (poolSize !== undefined) lines.push(`pool_size = ${poolSize}`);
    if (options.sessionTimeoutMinutes !== undefined) lines.push(`timeout = ${options.sessionTimeoutMinutes}`);
  } else {
    lines.push('', '[attestation_service]', 'type = "coco_as_builtin"');
    if (options.sessionTimeoutMinutes !== undefined) lines.push(`timeout = ${options.sessionTimeoutMinutes}`);
    lines.push('', '[attestation_service.attestation_token_broker]', 'duration_min = 5');
    if (options.tokenTrust.kind === 'cert-chain') {
      lines.push(
        '',
        '[attestation_service.attestation_token_broker.signer]',
        `key_path = ${q(options.tokenTrust.signerKeyPath)}`,
        `cert_path = ${q(options.tokenTrust.signerCertChainPath)}`,
      );
    }
    lines.push('', '[attestation_service.rvps_config]', 'type = "BuiltIn"');
  }
  lines.push(
    '',
    '[admin]',
    'authorization_mode = "AuthenticatedAuthorization"',
    '',
    '[admin.authentication.bearer_jwt]',
    `identity_providers = [{ issuer = ${q(options.issuer ?? 'TrusteeInDocker')}, ${
      options.audience === undefined ? '' : `audience = ${q(options.audience)}, `
    }public_key_uri = ${q(options.adminPublicKeyPath)} }]`,
    '',
    '[admin.authorization.regex_acl]',
    `acls = [${[{ role: 'admin', allowedEndpoints: '^/kbs/.+$' }, ...(options.extraAcls ?? [])]
      .map((acl) => `{ role = ${q(acl.role)}, allowed_endpoints = ${q(acl.allowedEndpoints)} }`)
      .join(', ')}]`,
    '',
  );
  if (options.storage.kind === 'LocalFs') {
    lines.push('[storage_backend]', 'storage_type = "LocalFs"', '', '[storage_backend.backends.local_fs]', `dir_path = ${q(options.storage.dir)}`, '');
  } else if (options.storage.kind === 'Sqlite') {
    lines.push('[storage_backend]', 'storage_type = "Sqlite"', '', '[storage_backend.backends.sqlite]', `path = ${q(options.storage.path)}`, '');
  } else if (options.storage.kind === 'Postgres') {
    const { host, port, db, username } = options.storage;
    lines.push('[storage_backend]', 'storage_type = "Postgres"', '', '[storage_backend.backends.postgres]', `host = ${q(host)}`, `port = ${port}`, `db = ${q(db)}`, `username = ${q(username)}`, '');
  }
  if (options.redisSessions !== undefined) {
    lines.push('[storage_backend.backends.redis]', `url = ${q(options.redisSessions.url)}`, '');
  }
  lines.push('[[plugins]]', 'name = "resource"');
  const plugin = { storage_backend_type: 'kvstorage', ...options.resourcePlugin };
  for (const [key, value] of Object.entries(plugin)) lines.push(`${key} = ${typeof value === 'string' ? q(value) : String(value)}`);
  lines.push('');
  return lines.join('\n');
}

export function localFsStorage(dir: string): Storage {
  return { kind: 'LocalFs', dir: join(dir, 'storage') };
}

/** One SQLite file under `dir` (the KBS puts its session file beside it). */
export function sqliteStorage(dir: string, file = 'kbs.sqlite'): Storage {
  return { kind: 'Sqlite', path: join(dir, file) };
}

/** A test database (`createTestDatabase`) as upstream's `[storage_backend.backends.postgres]` fields. */
export function postgresStorage(database: { readonly url: string; readonly name: string }): Storage {
  const url = new URL(database.url);
  return { kind: 'Postgres', host: url.hostname, port: Number(url.port || 5432), db: database.name, username: decodeURIComponent(url.username || 'postgres') };
}

/** Tokens trusted through the CA of a signer chain (`writeSignerChain`), whose key the builtin AS signs with. */
export function certChainTrust(chain: { readonly keyPath: string; readonly certChainPath: string; readonly caCertPath: string }): Extract<TokenTrust, { kind: 'cert-chain' }> {
  return { kind: 'cert-chain', signerKeyPath: chain.keyPath, signerCertChainPath: chain.certChainPath, caCertPath: chain.caCertPath };
}
