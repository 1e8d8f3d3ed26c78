/**
 * Invariant: upstream-format KBS TOML loads as upstream reads it (defaults, aliases, unknown
 * keys ignored outside [admin]), insecure settings are reported, and every bad config fails at
 * start with a message naming the exact TOML path.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { composeKbs } from './compose.ts';
import { availableParallelism } from 'node:os';
import { DEFAULT_CLIENT_LIMITS, defaultWorkerCount, loadKbsConfig, parseKbsConfig } from './config.ts';
import { cleanupHarnessDirs, writeTempFile } from './testing/fixture.ts';

afterAll(() => cleanupHarnessDirs());

/** The dev sample (builtin AS, HTTP, open admin) in upstream's layout. */
const DEV_SAMPLE = `
[http_server]
insecure_http = true

[attestation_token]
insecure_header_jwk = true

[attestation_service]
type = "coco_as_builtin"

[attestation_service.attestation_token_broker]
duration_min = 5

[attestation_service.rvps_config]
type = "BuiltIn"

[admin]
authorization_mode = "InsecureAllowAll"

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "/opt/confidential-containers/storage"

[[plugins]]
name = "resource"
storage_backend_type = "kvstorage"
`;

function authenticatedSample(publicKeyPath: string): string {
  return `
[http_server]
sockets = ["0.0.0.0:8080"]
insecure_http = true
payload_request_size = 4
worker_count = 1
some_future_key = "ignored"

[attestation_token]
trusted_certs_paths = ["/opt/confidential-containers/kbs/user-keys/ca-cert.pem"]

[attestation_service]
type = "coco_as_builtin"
timeout = 7

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "TrusteeInDocker", audience = "KBS", public_key_uri = "${publicKeyPath}" }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[[plugins]]
name = "resource"
`;
}

describe('upstream samples load as-is', () => {
  test('the dev sample: builtin AS, LocalFs storage, resource plugin, three loud warnings', () => {
    const config = parseKbsConfig(parseToml(DEV_SAMPLE));
    expect(config.httpServer).toEqual({
      sockets: [{ host: '127.0.0.1', port: 8080 }],
      insecureHttp: true,
      privateKey: undefined,
      certificate: undefined,
      tls: expect.objectContaining({ profile: 'intermediate', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }) as unknown,
      payloadRequestSizeMiB: 2,
      workerCount: defaultWorkerCount(),
      limits: DEFAULT_CLIENT_LIMITS,
    });
    expect(config.attestationService).toMatchObject({ type: 'coco_as_builtin', timeoutMinutes: 5 });
    expect(config.storage.storageType).toBe('LocalFs');
    expect(config.storage.localFs.dirPath).toBe('/opt/confidential-containers/storage');
    expect(config.plugins).toEqual([{ name: 'resource', backend: 'kvstorage' }]);
    expect(config.admin).toEqual({ mode: 'InsecureAllowAll' });
    expect(config.warnings).toHaveLength(3);
    expect(config.warnings.join('\n')).toMatch(/insecure_http[\s\S]*insecure_header_jwk[\s\S]*InsecureAllowAll/);
  });

  test('AuthenticatedAuthorization with an Ed25519 public_key_uri, unknown and an unknown key refused with its path (or, with --allow-unknown-config, warned about)', async () => {
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const keyPath = writeTempFile('public.pub', publicKey);
    const file = writeTempFile('kbs-config.toml', authenticatedSample(keyPath));
    await expect(loadKbsConfig(file)).rejects.toThrow(`${file}: http_server.some_future_key: unknown key (known keys: sockets, insecure_http, private_key, certificate, tls_profile,`);
    const config = await loadKbsConfig(file, { allowUnknown: true });
    expect(config.httpServer.sockets).toEqual([{ host: '0.0.0.0', port: 8080 }]);
    expect(config.httpServer.payloadRequestSizeMiB).toBe(4);
    expect(config.attestationService).toMatchObject({ type: 'coco_as_builtin', timeoutMinutes: 7 });
    expect(config.storage.storageType).toBe('Memory');
    expect(config.admin).toEqual({
      mode: 'AuthenticatedAuthorization',
      identityProviders: [{ issuer: 'TrusteeInDocker', audience: 'KBS', publicKeyUri: keyPath }],
      acls: [{ role: 'admin', allowedEndpoints: '^/kbs/.+$' }],
    });
    expect(config.warnings).toEqual([
      `${file}: http_server.some_future_key: unknown key ignored (--allow-unknown-config) (known keys: sockets, insecure_http, private_key, certificate, tls_profile, tls_min_version, tls_max_version, tls_ciphers, tls_groups, payload_request_size, worker_count, auth_rate_limit_per_ip, auth_rate_burst_per_ip, max_sessions_per_ip, max_sessions, max_session_storage_mib)`,
      expect.stringMatching(/^WARNING: no storage_backend.storage_type is configured, so storage is Memory \(upstream's default\): resources, the resource policy and RCAR sessions are lost/),
      'http_server.insecure_http = true: the KBS serves plain HTTP; secrets and admin tokens travel unencrypted outside a trusted network',
    ]);
  });

  test('the dev sample composes into a working KBS (Memory store instead of /opt)', async () => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, unknown>;
    delete raw['storage_backend'];
    const kbs = await composeKbs(parseKbsConfig(raw));
    const response = await kbs.apps[0]?.inject({ method: 'GET', url: '/kbs/v0/resource-policy' });
    expect(response?.statusCode).toBe(200);
    await kbs.close();
  });

  test('worker_count unset: one worker per core on a store processes can share, one on Memory/LocalJson; an explicit value wins', () => {
    expect(defaultWorkerCount()).toBe(availableParallelism());
    const parse = (edit: (raw: Record<string, Record<string, unknown>>) => void): number => {
      const raw = parseToml(DEV_SAMPLE) as Record<string, Record<string, unknown>>;
      edit(raw);
      return parseKbsConfig(raw).httpServer.workerCount;
    };
    expect(parse(() => undefined)).toBe(availableParallelism());
    expect(parse((raw) => (raw['storage_backend'] = { storage_type: 'Sqlite' }))).toBe(availableParallelism());
    expect(parse((raw) => (raw['storage_backend'] = { storage_type: 'Memory' }))).toBe(1);
    expect(parse((raw) => delete raw['storage_backend'])).toBe(1);
    // Shared resources but per-process sessions: still one process.
    expect(parse((raw) => (raw['session_storage_type'] = 'Memory' as unknown as Record<string, unknown>))).toBe(1);
    expect(parse((raw) => ((raw['http_server'] ?? {})['worker_count'] = 1))).toBe(1);
    expect(parse((raw) => ((raw['http_server'] ?? {})['worker_count'] = 3))).toBe(3);
  });

  test("upstream's Postgres storage with Redis sessions (Helm chart layout) parses, and several workers may share it", () => {
    const raw = parseToml(
      'session_storage_type = "Redis"\n' +
      DEV_SAMPLE.replace(
        '[storage_backend]\nstorage_type = "LocalFs"\n\n[storage_backend.backends.local_fs]\ndir_path = "/opt/confidential-containers/storage"\n',
        '[storage_backend]\nstorage_type = "Postgres"\n\n[storage_backend.backends.postgres]\nhost = "trustee-postgresql"\nport = 5432\ndb = "trustee"\nusername = "trustee"\npassword = "s3cret"\n\n[storage_backend.backends.redis]\nurl = "redis://trustee-valkey:6379"\n',
      ).replace('[http_server]\n', '[http_server]\nworker_count = 4\n'),
    );
    const config = parseKbsConfig(raw);
    expect(config.storage.storageType).toBe('Postgres');
    expect(config.sessionStorageType).toBe('Redis');
    expect(config.httpServer.workerCount).toBe(4);
    expect(config.warnings.some((warning) => warning.includes('Memory'))).toBe(false);
  });

  test('client limits: on by default, each key configurable, 0 turns a per-client limit off (with a warning)', () => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, Record<string, unknown>>;
    Object.assign(raw['http_server'] ?? {}, { auth_rate_limit_per_ip: 0, auth_rate_burst_per_ip: 5, max_sessions_per_ip: 0, max_sessions: 10, max_session_storage_mib: 3 });
    const config = parseKbsConfig(raw);
    expect(config.httpServer.limits).toEqual({ authRatePerIp: 0, authBurstPerIp: 5, maxSessionsPerIp: 0, maxSessions: 10, maxSessionStorageMiB: 3 });
    expect(config.warnings.filter((w) => /auth_rate_limit_per_ip = 0|max_sessions_per_ip = 0/.test(w))).toHaveLength(2);
    expect(DEFAULT_CLIENT_LIMITS).toEqual({ authRatePerIp: 20, authBurstPerIp: 200, maxSessionsPerIp: 1024, maxSessions: 100_000, maxSessionStorageMiB: 256 });
  });

  test('sockets with port 0 and IPv6 parse', () => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, Record<string, unknown>>;
    (raw['http_server'] ?? {})['sockets'] = ['127.0.0.1:0', '[::1]:8443'];
    expect(parseKbsConfig(raw).httpServer.sockets).toEqual([
      { host: '127.0.0.1', port: 0 },
      { host: '::1', port: 8443 },
    ]);
  });
});

type Edit = (raw: Record<string, Record<string, unknown>>) => void;
const adminAuth = (providers: unknown, acls: unknown = [{ role: 'admin', allowed_endpoints: '^/kbs/.+$' }]) => ({
  authorization_mode: 'AuthenticatedAuthorization',
  authentication: { bearer_jwt: { identity_providers: providers } },
  authorization: { regex_acl: { acls } },
});

describe('[attestation_service] types', () => {
  const withService = (service: Record<string, unknown>) => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, unknown>;
    raw['attestation_service'] = service;
    return parseKbsConfig(raw).attestationService;
  };

  test('no table means the builtin AS (upstream default); fractional timeout accepted', () => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, unknown>;
    delete raw['attestation_service'];
    expect(parseKbsConfig(raw).attestationService).toMatchObject({ type: 'coco_as_builtin', timeoutMinutes: 5 });
    expect(withService({ timeout: 0.05 })).toMatchObject({ type: 'coco_as_builtin', timeoutMinutes: 0.05 });
  });

  test('coco_as_grpc defaults, alias and explicit values', () => {
    expect(withService({ type: 'coco_as_grpc' })).toMatchObject({ type: 'coco_as_grpc', timeoutMinutes: 5, grpc: { asAddr: 'http://127.0.0.1:50004', poolSize: 100, caCertPath: undefined } });
    expect(withService({ type: 'CoCoASGrpc', as_addr: 'https://as.example:50004', pool_size: 4, timeout: 0.5, tls_mode: 'tls', ca_cert_path: '/ca.pem' })).toMatchObject({
      type: 'coco_as_grpc',
      timeoutMinutes: 0.5,
      grpc: { asAddr: 'https://as.example:50004', poolSize: 4, caCertPath: '/ca.pem' },
    });
    expect(withService({ type: 'coco_as_grpc', as_addr: 'http://[::1]:50004' })).toMatchObject({ grpc: { asAddr: 'http://[::1]:50004' } });
  });

  test('type = "none" is the passport resource KBS; keys of the other types are refused', () => {
    expect(withService({ type: 'none' })).toEqual({ type: 'none' });
    expect(() => withService({ type: 'none', timeout: 5 })).toThrow('attestation_service.timeout: there are no sessions with type = "none"');
    expect(() => withService({ type: 'none', as_addr: 'http://as:50004' })).toThrow('attestation_service.as_addr: applies to type = "coco_as_grpc" only');
  });

  test('the builtin AS takes the core keys; the grpc AS refuses them (the remote AS has its own file)', () => {
    expect(withService({ rvps_config: { type: 'BuiltIn', storage_type: 'Memory' } })).toMatchObject({ type: 'coco_as_builtin', core: { rvps: { type: 'BuiltIn', storageType: 'Memory' } } });
    expect(() => withService({ type: 'coco_as_grpc', rvps_config: { type: 'BuiltIn' } })).toThrow('attestation_service.rvps_config: applies to type = "coco_as_builtin" only (the remote AS reads its own as-config.json)');
    expect(() => withService({ storage_backend: { storage_type: 'Memory' } })).toThrow("attestation_service.storage_backend: the KBS's builtin attestation service keeps its data in the top-level [storage_backend]");
    expect(() => withService({ storage_type: 'Memory' })).toThrow('attestation_service.storage_type: unknown key');
  });
});

describe('bad configs fail with path-precise messages', () => {
  test.each<[string, Edit, string]>([
    ['no [http_server]', (raw) => delete raw['http_server'], 'http_server: required'],
    ['no [admin]', (raw) => delete raw['admin'], 'admin: required'],
    ['legacy admin type', (raw) => (raw['admin'] = { type: 'DenyAll' }), 'admin.type: unknown key (known keys: authorization_mode, authentication, authorization)'],
    ['admin typo', (raw) => (raw['admin'] = { authorization_mode: 'DenyAll', authorisation: {} }), 'admin.authorisation: unknown key (did you mean "authorization"?)'],
    ['unknown mode', (raw) => (raw['admin'] = { authorization_mode: 'Simple' }), 'admin.authorization_mode: expected one of "InsecureAllowAll", "DenyAll", "AuthenticatedAuthorization", found the string "Simple"'],
    ['provider without key', (raw) => (raw['admin'] = adminAuth([{ issuer: 'x' }])), 'admin.authentication.bearer_jwt.identity_providers[0]: public_key_uri or jwk_set_uri required'],
    ['second provider without key', (raw) => (raw['admin'] = adminAuth([{ public_key_uri: '/k.pem' }, { audience: 'kbs' }])), 'admin.authentication.bearer_jwt.identity_providers[1]: public_key_uri or jwk_set_uri required'],
    ['provider unknown field', (raw) => (raw['admin'] = adminAuth([{ public_key_uri: '/k.pem', iss: 'x' }])), 'admin.authentication.bearer_jwt.identity_providers[0].iss: unknown key (known keys: issuer, audience, public_key_uri, jwk_set_uri)'],
    ['no providers', (raw) => (raw['admin'] = adminAuth([])), 'admin.authentication.bearer_jwt.identity_providers: at least one entry required'],
    ['unanchored ACL', (raw) => (raw['admin'] = adminAuth([{ public_key_uri: '/k.pem' }], [{ role: 'admin', allowed_endpoints: '/kbs/.+' }])), 'admin.authorization.regex_acl.acls[0].allowed_endpoints: must start with ^/kbs and end with $'],
    ['ACL without role', (raw) => (raw['admin'] = adminAuth([{ public_key_uri: '/k.pem' }], [{ allowed_endpoints: '^/kbs/.+$' }])), 'admin.authorization.regex_acl.acls[0].role: required'],
    ['bad ACL regex', (raw) => (raw['admin'] = adminAuth([{ public_key_uri: '/k.pem' }], [{ role: 'a', allowed_endpoints: '^/kbs/(+$' }])), 'admin.authorization.regex_acl.acls[0].allowed_endpoints: invalid regular expression'],
    ['AuthenticatedAuthorization without authentication', (raw) => (raw['admin'] = { authorization_mode: 'AuthenticatedAuthorization' }), 'admin.authentication: required for AuthenticatedAuthorization'],
    ['no token trust anchors', (raw) => (raw['attestation_token'] = {}), 'attestation_token: trusted_certs_paths or trusted_jwk_sets required'],
    ['bad socket', (raw) => ((raw['http_server'] ?? {})['sockets'] = ['localhost']), 'http_server.sockets[0]: expected "ip:port"'],
    ['socket not a string', (raw) => ((raw['http_server'] ?? {})['sockets'] = [8080]), 'http_server.sockets[0]: expected a string'],
    ['HTTPS without certificate', (raw) => ((raw['http_server'] ?? {})['insecure_http'] = false), 'http_server.certificate: Missing certificate'],
    ['negative rate limit', (raw) => ((raw['http_server'] ?? {})['auth_rate_limit_per_ip'] = -1), 'http_server.auth_rate_limit_per_ip: must be at least 0'],
    ['max_sessions 0', (raw) => ((raw['http_server'] ?? {})['max_sessions'] = 0), 'http_server.max_sessions: must be at least 1'],
    ['payload size 0', (raw) => ((raw['http_server'] ?? {})['payload_request_size'] = 0), 'http_server.payload_request_size: must be at least 1'],
    ['timeout 0', (raw) => (raw['attestation_service'] = { timeout: 0 }), 'attestation_service.timeout: must be greater than 0'],
    ['workers with Memory storage', (raw) => {
      (raw['http_server'] ?? {})['worker_count'] = 2;
      raw['storage_backend'] = { storage_type: 'Memory' };
    }, 'http_server.worker_count: several workers need a store shared safely between processes'],
    ['unknown AS type', (raw) => (raw['attestation_service'] = { type: 'intel_ta' }), 'attestation_service.type: "intel_ta": Intel Trust Authority is not built in trustee-ts (supported: coco_as_builtin, coco_as_grpc, none)'],
    ['AS type from the prototype', (raw) => (raw['attestation_service'] = { type: 'toString' }), 'attestation_service.type: "toString" is not supported'],
    ['grpc AS without scheme', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: 'as:50004' }), 'attestation_service.as_addr: must start with http:// or https://, got "as:50004"'],
    ['grpc AS other scheme', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: 'unix:///run/as.sock' }), 'attestation_service.as_addr: must start with http:// or https://'],
    ['grpc AS with a path', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: 'http://as:50004/x' }), 'attestation_service.as_addr: expected scheme://host:port only'],
    ['grpc AS pool_size 0', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', pool_size: 0 }), 'attestation_service.pool_size: must be at least 1'],
    ['grpc AS tls_mode tls over http', (raw) => (raw['attestation_service'] = { type: 'CoCoASGrpc', tls_mode: 'tls' }), 'attestation_service.tls_mode: "tls" requires https:// in as_addr'],
    ['grpc AS insecure over https', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: 'https://as:50004', tls_mode: 'insecure' }), 'attestation_service.tls_mode: "insecure" requires http://'],
    ['grpc AS ca_cert_path over http', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', ca_cert_path: '/ca.pem' }), 'attestation_service.ca_cert_path: only used with an https:// as_addr'],
    ['grpc AS fractional timeout bounds', (raw) => (raw['attestation_service'] = { type: 'coco_as_grpc', timeout: -0.5 }), 'attestation_service.timeout: must be greater than 0'],
    ['timeout string', (raw) => (raw['attestation_service'] = { timeout: '5' }), 'attestation_service.timeout: expected a number, found the string "5"'],
    ['Postgres storage without its table', (raw) => (raw['storage_backend'] = { storage_type: 'Postgres' }), 'storage_backend.backends.postgres: required for storage type Postgres (or set POSTGRES_URL)'],
    ['Redis sessions without the redis table', (raw) => (raw['session_storage_type'] = 'Redis' as unknown as Record<string, unknown>), 'session_storage_type: Redis needs storage_backend.backends.redis (or REDIS_URL)'],
    ['bad session storage type', (raw) => (raw['session_storage_type'] = 'Redsi' as unknown as Record<string, unknown>), 'session_storage_type: unknown storage type "Redsi" (expected Memory, LocalFs, LocalJson, Sqlite, Postgres, Redis). Did you mean "Redis"?'],
    ['misspelled storage_type', (raw) => (raw['storage_backend'] = { storage_typ: 'Sqlite' }), 'storage_backend.storage_typ: unknown key (did you mean "storage_type"?)'],
    ['misspelled storage_backend table', (raw) => (raw['storage_backen'] = { storage_type: 'Sqlite' }), 'storage_backen: unknown key (did you mean "storage_backend"?)'],
    ['misspelled session_storage_type', (raw) => (raw['session_storage_typ'] = 'Redis' as unknown as Record<string, unknown>), 'session_storage_typ: unknown key (did you mean "session_storage_type"?)'],
    ['unknown plugin', (raw) => (raw['plugins'] = [{ name: 'nebula-ca' }] as unknown as Record<string, unknown>), 'plugins[0].name: plugin "nebula-ca" is not supported'],
    ['sample plugin without item', (raw) => (raw['plugins'] = [{ name: 'sample' }] as unknown as Record<string, unknown>), 'plugins[0].item: required'],
    ['duplicate plugin', (raw) => (raw['plugins'] = [{ name: 'resource' }, { name: 'resource' }] as unknown as Record<string, unknown>), 'plugins[1].name: plugin "resource" configured twice'],
    ['a misspelled section', (raw) => (raw['http_servr'] = {}), 'http_servr: unknown key (did you mean "http_server"?)'],
    ['a misspelled http_server key', (raw) => ((raw['http_server'] ?? {})['insecure_htp'] = true), 'http_server.insecure_htp: unknown key (did you mean "insecure_http"?)'],
    ['an unknown TLS profile', (raw) => ((raw['http_server'] ?? {})['tls_profile'] = 'strict'), 'http_server.tls_profile: expected one of "old", "intermediate", "modern", "custom", found the string "strict"'],
    ['a TLS version we do not serve', (raw) => ((raw['http_server'] ?? {})['tls_min_version'] = '1.1'), 'http_server.tls_min_version: expected one of "1.2", "1.3", found the string "1.1"'],
    ['min above max', (raw) => Object.assign(raw['http_server'] ?? {}, { tls_min_version: '1.3', tls_max_version: '1.2' }), 'http_server.tls_min_version: "1.3" is above tls_max_version "1.2"'],
    ['an unknown cipher', (raw) => ((raw['http_server'] ?? {})['tls_ciphers'] = 'TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA999'), 'http_server.tls_ciphers: "ECDHE-RSA-AES256-GCM-SHA999" is not a cipher'],
    ['only TLS 1.3 suites while TLS 1.2 is allowed', (raw) => ((raw['http_server'] ?? {})['tls_ciphers'] = 'TLS_AES_256_GCM_SHA384'), 'http_server.tls_ciphers: names no TLS 1.2 cipher while TLS 1.2 is allowed'],
    ['an unsupported group', (raw) => ((raw['http_server'] ?? {})['tls_groups'] = 'X25519:brainpool-nonsense'), 'http_server.tls_groups: "brainpool-nonsense" is not a key-exchange group'],
    ['an external plugin', (raw) => (raw['plugins'] = [{ name: 'external', backends: [] }] as unknown as Record<string, unknown>), 'plugins[0].name: plugin "external" (upstream\'s gRPC plugin gateway) is not built in trustee-ts'],
    ['a key of another backend', (raw) => (raw['plugins'] = [{ name: 'resource', storage_backend_type: 'kvstorage', dir_path: '/x' }] as unknown as Record<string, unknown>), 'plugins[0].dir_path: does not apply to storage_backend_type = "kvstorage"'],
    ['an unknown verifier table in the builtin AS', (raw) => (raw['attestation_service'] = { verifier_config: { nvidia_dpu_verifier: {} } }), 'attestation_service.verifier_config.nvidia_dpu_verifier: the nvidia-dpu verifier is not built in trustee-ts'],
    ['an rvps storage override without its backend', (raw) => (raw['attestation_service'] = { rvps_config: { storage_type: 'Postgres' } }), 'attestation_service.rvps_config.storage_type: Postgres needs storage_backend.backends.postgres'],
    ['bad extra_teekey_paths', (raw) => (raw['attestation_token'] = { insecure_header_jwk: true, extra_teekey_paths: ['tee-pubkey'] }), 'attestation_token.extra_teekey_paths[0]: expected a JSON pointer'],
  ])('%s', (_name, edit, message) => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, Record<string, unknown>>;
    edit(raw);
    expect(() => parseKbsConfig(raw)).toThrow(message);
  });

  test('invalid TOML and missing files name the file', async () => {
    await expect(loadKbsConfig('/nonexistent/kbs-config.toml')).rejects.toThrow('/nonexistent/kbs-config.toml: cannot read (ENOENT)');
    const file = writeTempFile('broken.toml', '[http_server\ninsecure_http = true');
    await expect(loadKbsConfig(file)).rejects.toThrow(`${file}: invalid TOML`);
  });

  test('an unreadable admin public key fails at compose time', async () => {
    const raw = parseToml(DEV_SAMPLE) as Record<string, unknown>;
    delete raw['storage_backend'];
    raw['admin'] = adminAuth([{ public_key_uri: '/nonexistent/admin.pub' }]);
    await expect(composeKbs(parseKbsConfig(raw))).rejects.toThrow();
  });
});
