/**
 * Invariant: every config file in upstream trustee's repository (../shared/upstream-configs, see
 * its README) either starts the real service — KBS, AS or RVPS — once its file paths point at
 * test files, or stops it at startup with a message naming the exact key and why (a feature not
 * built here, such as intel_ta or the external plugin, or a missing token trust source that
 * upstream also refuses). No key is passed over in silence.
 *
 * Runs only where ../shared is laid out beside the repository; the project's own config suites
 * (config.e2e.test.ts, the unit tests of each config module) hold the same shapes inline.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { DEFAULT_LOCAL_FS_DIR, DEFAULT_LOCAL_JSON_DIR, DEFAULT_SQLITE_PATH } from '@trustee/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectKbsStartFailure, startAs, startKbs, startRvps } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, writeTlsServerCert } from './harness/keys.ts';
import { capabilities, REPO_ROOT } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';

const UPSTREAM = join(REPO_ROOT, '..', 'shared', 'upstream-configs');

/** What each file must do: start, or be refused naming this key path. */
const EXPECTED: Readonly<Record<string, 'starts' | RegExp>> = {
  'attestation-service/config.json': 'starts',
  'attestation-service/tests/configs/example1.json': 'starts',
  'attestation-service/tests/configs/example2.json': 'starts',
  'attestation-service/tests/configs/example_with_tpm_verifier.json': 'starts',
  'kbs/config/docker-compose/as-config.json': 'starts',
  'kbs/config/docker-compose/kbs-config.toml': 'starts',
  'kbs/config/docker-compose/rvps.json': 'starts',
  'kbs/config/kbs-config-grpc.toml': 'starts',
  'kbs/config/kbs-config-intel-trust-authority.toml': /attestation_service\.type: "intel_ta": Intel Trust Authority is not built in trustee-ts/,
  'kbs/config/kbs-config.toml': 'starts',
  'kbs/config/kubernetes/base/as-config.json': 'starts',
  'kbs/config/kubernetes/base/kbs-config.toml': 'starts',
  'kbs/config/kubernetes/ita/kbs-config.toml': /attestation_service\.type: "intel_ta": Intel Trust Authority is not built/,
  'kbs/test/config/external-plugin-attest.toml': /plugins\[0\]\.name: plugin "external" \(upstream's gRPC plugin gateway\) is not built in trustee-ts/,
  'kbs/test/config/external-plugin-resource-tls.toml': /plugins\[0\]\.name: plugin "external"/,
  'kbs/test/config/external-plugin-resource.toml': /plugins\[0\]\.name: plugin "external"/,
  'kbs/test/config/external-plugin-tls.toml': /plugins\[0\]\.name: plugin "external"/,
  'kbs/test/config/external-plugin.toml': /plugins\[0\]\.name: plugin "external"/,
  'kbs/test/config/kbs.toml': 'starts',
  'kbs/test/config/resource-kbs.toml': 'starts',
  'kbs/test/test_data/configs/external-plugin-test.toml': /admin\.type: unknown key \(known keys: authorization_mode, authentication, authorization\)[\s\S]*plugins\[1\]\.name: plugin "external"/,
  // Upstream bails too: HTTPS without a certificate (kbs/src/http.rs), no token trust source (kbs/src/crypto/jwt.rs).
  'kbs/test_data/configs/coco-as-builtin-1.toml': /http_server\.certificate: Missing certificate \(required unless insecure_http = true\)[\s\S]*attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/coco-as-builtin-2.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/coco-as-builtin-3.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/coco-as-grpc-1.toml': 'starts',
  'kbs/test_data/configs/coco-as-grpc-2.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/coco-as-grpc-3.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/intel-ta-1.toml': /attestation_service\.type: "intel_ta"/,
  'kbs/test_data/configs/intel-ta-2.toml': /attestation_service\.type: "intel_ta"/,
  'kbs/test_data/configs/intel-ta-3.toml': /attestation_service\.type: "intel_ta"/,
  // This Node's OpenSSL has no ML-KEM hybrid groups (upstream's OpenSSL < 3.5 refuses them too).
  'kbs/test_data/configs/tls-profile-custom-pqc.toml': /http_server\.tls_groups: "X25519MLKEM768" is not a key-exchange group this server's OpenSSL supports/,
  'kbs/test_data/configs/tls-profile-custom.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/tls-profile-intermediate.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/tls-profile-modern.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
  'kbs/test_data/configs/tls-profile-old.toml': /attestation_token: trusted_certs_paths or trusted_jwk_sets required/,
};

/** Upstream's absolute and `./work` paths, moved under a scratch root (the files are created there). */
function relocate(text: string, root: string): string {
  return text.replace(/(["'])(\.\/work\/|\/opt\/|\/etc\/|\/var\/|\/kbs\/)/g, (_match, quote: string, prefix: string) => `${quote}${root}/${prefix.replace(/^\.\//, '').replace(/^\//, '')}`);
}

/**
 * An AS config that leaves a storage location to the default (upstream's `rvps_config.storage_type
 * = "LocalFs"` with no `storage_backend` table: config.json, example_with_tpm_verifier.json) would
 * write under /opt on this machine. Those defaults are named, moved under the scratch root like
 * the paths the file spells out; every key the file sets stays as it is (a table without
 * `storage_type` keeps the Memory default of the main store).
 */
function pinStorageDefaults(config: unknown, root: string): unknown {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return config;
  const table = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  const storage = table((config as Record<string, unknown>)['storage_backend']);
  const backends = table(storage['backends']);
  const under = (path: string): string => join(root, path);
  return {
    ...config,
    storage_backend: {
      ...storage,
      backends: {
        ...backends,
        local_fs: { dir_path: under(DEFAULT_LOCAL_FS_DIR), ...table(backends['local_fs']) },
        local_json: { file_dir_path: under(DEFAULT_LOCAL_JSON_DIR), ...table(backends['local_json']) },
        sqlite: { path: under(DEFAULT_SQLITE_PATH), ...table(backends['sqlite']) },
      },
    },
  };
}

/** Every socket on an ephemeral loopback port; a config without sockets gets one (upstream's default is a fixed port). */
function ephemeralSockets(toml: string): string {
  const replaced = toml.replace(/^sockets = \[[^\]]*\]/m, 'sockets = ["127.0.0.1:0"]');
  return replaced === toml ? toml.replace(/^\[http_server\]\n/m, '[http_server]\nsockets = ["127.0.0.1:0"]\n') : replaced;
}

describe.skipIf(!existsSync(UPSTREAM) || !capabilities.kbs)("upstream trustee's own config files", () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = makeTempDir();
    root = join(dir, 'root');
    const place = (path: string, content: string | Buffer): void => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    const tls = await writeTlsServerCert(dir);
    const chain = await writeSignerChain(dir);
    const admin = writeAdminKeys(dir);
    const tlsKey = readFileSync(tls.keyPath);
    const tlsCert = readFileSync(tls.certPath);
    for (const path of ['work/https.key', 'etc/kbs-private.key']) place(path, tlsKey);
    for (const path of ['work/https.crt', 'etc/kbs-cert.pem']) place(path, tlsCert);
    const ca = readFileSync(chain.caCertPath);
    for (const path of ['work/ca-cert.pem', 'opt/confidential-containers/kbs/user-keys/ca-cert.pem', 'etc/ca', 'etc/ca2']) place(path, ca);
    const signerKey = readFileSync(chain.keyPath);
    const signerChain = readFileSync(chain.certChainPath);
    for (const path of ['work/token.key', 'opt/confidential-containers/kbs/user-keys/token.key', 'etc/key']) place(path, signerKey);
    for (const path of ['work/token-cert-chain.pem', 'opt/confidential-containers/kbs/user-keys/token-cert-chain.pem', 'etc/cert.pem']) place(path, signerChain);
    const adminKey = readFileSync(admin.publicKeyPath);
    for (const path of ['work/kbs.pem', 'kbs/kbs.pem', 'opt/confidential-containers/kbs/user-keys/public.pub', 'opt/confidential-containers/trustee/admin1-pubkey.pem', 'opt/confidential-containers/trustee/admin2-pubkey.pem']) {
      place(path, adminKey);
    }
    const ak = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    for (const path of ['work/attestation-service/tpm_trusted_keys/ak.pub', 'etc/tpm/trusted_ak_keys/ak.pub']) place(path, ak);
  });

  afterAll(() => {
    if (dir !== undefined) removeTempDir(dir);
  });

  it('holds an expectation for every file there, and every expectation names a file there', () => {
    const listed = Object.keys(EXPECTED).filter((file) => existsSync(join(UPSTREAM, file)));
    expect(listed).toEqual(Object.keys(EXPECTED));
  });

  // Several processes at once: a start is mostly module loading. The timeout is longer than the
  // 120 s start timeout below, so a slow start fails as itself, not as a test timeout.
  it.concurrent.for(Object.entries(EXPECTED))('%s', { timeout: 180_000 }, async ([file, expected], { expect }) => {
    const text = relocate(readFileSync(join(UPSTREAM, file), 'utf8'), root);
    const name = file.replace(/\W+/g, '-');
    const scratch = join(dir, name);
    mkdirSync(scratch, { recursive: true });
    if (file.endsWith('.toml')) {
      const toml = ephemeralSockets(text);
      if (expected === 'starts') {
        const kbs = await startKbs(toml, { dir: scratch, configName: 'kbs-config.toml', startTimeoutMs: 120_000 });
        await kbs.stop();
      } else {
        const { code, output } = await expectKbsStartFailure(toml, { dir: scratch, configName: 'kbs-config.toml', startTimeoutMs: 120_000 });
        expect(code, output).not.toBe(0);
        expect(output).toMatch(expected);
        // The TLS profile samples lack only a token trust source: their TLS settings themselves load.
        if (/tls-profile-(custom|intermediate|modern|old)\.toml$/.test(file)) expect(output).not.toMatch(/http_server\./);
      }
      return;
    }
    const json = JSON.parse(text) as unknown;
    const service = file.endsWith('rvps.json') ? startRvps(json, { dir: scratch }) : startAs(pinStorageDefaults(json, root), { dir: scratch });
    if (expected === 'starts') {
      await (await service).stop();
    } else {
      await expect(service).rejects.toThrow(expected);
    }
  });
});
