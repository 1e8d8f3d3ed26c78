/**
 * Invariant: the KBS process refuses to start on configurations upstream refuses (trustee
 * `kbs/src/config.rs`, `kbs/src/admin/`, `kbs/src/token/mod.rs`), exits non-zero with a message
 * that names the offending key, and never prints a stack trace; and it starts on the upstream dev
 * config (`kbs/config/kbs-config.toml`) as written.
 */
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbsConfigToml } from './harness/configs.ts';
import { expectKbsStartFailure, startKbs } from './harness/kbsProcess.ts';
import { writeAdminKeys, type AdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { expectErrorInformation } from './harness/errors.ts';
import { IndependentGuest } from './independent/guest.ts';
import { httpRequest } from './independent/http.ts';
import { generateTeeKey } from './independent/teeKey.ts';

describe.skipIf(!capabilities.kbs)('KBS configuration handling at startup', () => {
  let dir: string;
  let admin: AdminKeys;
  let base: string;

  beforeAll(() => {
    dir = makeTempDir();
    admin = writeAdminKeys(dir);
    base = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'insecure-header-jwk' } });
  });
  afterAll(() => removeTempDir(dir));

  const replaceSection = (toml: string, header: string, body: string): string => {
    const start = toml.indexOf(`${header}\n`);
    if (start < 0) throw new Error(`no ${header} in config`);
    const next = toml.indexOf('\n[', start + header.length);
    return `${toml.slice(0, start)}${header}\n${body}\n${next < 0 ? '' : toml.slice(next)}`;
  };

  const cases: Array<[string, () => string, RegExp]> = [
    ['legacy [admin] type = "Simple"', () => base.replace('authorization_mode = "AuthenticatedAuthorization"', 'type = "Simple"'), /admin/],
    ['an unknown key inside [admin]', () => base.replace('authorization_mode = "AuthenticatedAuthorization"', 'authorization_mode = "AuthenticatedAuthorization"\ninsecure_api = true'), /admin/],
    ['an ACL regex not anchored at ^/kbs', () => base.replace('allowed_endpoints = "^/kbs/.+$"', 'allowed_endpoints = ".*"'), /allowed_endpoints|regex|acl/i],
    ['an identity provider without a key source', () => base.replace(/, public_key_uri = "[^"]+"/, ''), /identity_providers|public_key_uri|jwk_set_uri/],
    ['a public_key_uri that does not exist', () => base.replace(admin.publicKeyPath, join(dir, 'missing.pub')), /missing\.pub|public_key_uri/],
    ['no token trust anchor and insecure_header_jwk = false', () => base.replace('insecure_header_jwk = true', 'insecure_header_jwk = false'), /attestation_token|trusted_certs_paths|insecure_header_jwk/],
    ['HTTPS without a certificate', () => base.replace('insecure_http = true', 'insecure_http = false'), /certificate|private_key/i],
    ['an unsupported storage type', () => `${base}\n[storage_backend]\nstorage_type = "Postgres"\n`, /storage/i],
    ['no [admin] table', () => replaceSection(base, '[admin]', '').replace(/\[admin\.[^\]]+\][^[]*/g, ''), /admin/],
    // Issue 8 finding 6: the typo used to give a silent Memory store that lost acknowledged secrets.
    ['a misspelled storage key (storage_typ)', () => `${base}\n[storage_backend]\nstorage_typ = "Sqlite"\n`, /storage_backend\.storage_typ.*storage_type/],
    ['a TOML syntax error', () => `${base}\n[http_server\n`, /toml|parse|syntax|line/i],
    // Issue 10: no key is ignored; each refusal names the exact path, and a typo the nearest key.
    ['a misspelled [http_server] key', () => base.replace('insecure_http = true', 'insecure_htp = true'), /http_server\.insecure_htp: unknown key \(did you mean "insecure_http"\?\)/],
    ['an unknown section', () => `${base}\n[policy_engin]\npolicy_path = "/x"\n`, /policy_engin: unknown key \(known keys: http_server, attestation_token, attestation_service, admin, storage_backend, session_storage_type, plugins, audit\)/],
    ['a TLS version this server cannot serve', () => base.replace('insecure_http = true', 'insecure_http = true\ntls_min_version = "1.1"'), /http_server\.tls_min_version: expected one of "1\.2", "1\.3", found the string "1\.1"/],
    ['a TLS group this OpenSSL does not have', () => base.replace('insecure_http = true', 'insecure_http = true\ntls_groups = "X25519:no-such-group"'), /http_server\.tls_groups: "no-such-group" is not a key-exchange group/],
    ['a verifier this build does not have', () => `${base}\n[attestation_service.verifier_config.nvidia_dpu_verifier]\n`, /attestation_service\.verifier_config\.nvidia_dpu_verifier: the nvidia-dpu verifier is not built in trustee-ts/],
  ];

  // Independent processes: run them side by side (each start is dominated by module loading).
  it.concurrent.for(cases)('refuses %s with a precise message and no stack trace', async ([name, makeConfig, mentions], { expect }) => {
    const { code, output } = await expectKbsStartFailure(makeConfig(), { dir, configName: `${name.replace(/\W+/g, '-')}.toml` });
    expect(code, output).not.toBe(0);
    expect(output).toMatch(mentions);
    expect(output, 'startup errors are messages, not stack traces').not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  });

  it('starts with an unknown key under --allow-unknown-config, warning with its path', async () => {
    const kbs = await startKbs(base.replace('insecure_http = true', 'insecure_http = true\nfuture_option = 1'), { dir, configName: 'allow-unknown.toml', args: ['--allow-unknown-config'] });
    try {
      expect(kbs.output()).toMatch(/"level":"warn".*http_server\.future_option: unknown key ignored \(--allow-unknown-config\)/);
    } finally {
      await kbs.stop();
    }
  });

  it('reads the same config as YAML and as JSON, by extension', async () => {
    const doc = parseToml(base);
    for (const [name, text] of [
      ['kbs-config.yaml', stringifyYaml(doc)],
      ['kbs-config.json', JSON.stringify(doc)],
    ] as const) {
      const kbs = await startKbs(text, { dir, configName: name });
      await kbs.stop();
    }
  });

  it('starts on the upstream dev config (kbs/config/kbs-config.toml) with InsecureAllowAll admin and LocalFs', async () => {
    const storage = join(dir, 'dev-storage');
    const toml = [
      '[http_server]',
      'sockets = ["127.0.0.1:0"]',
      'insecure_http = true',
      'auth_rate_limit_per_ip = 1',
      'auth_rate_burst_per_ip = 2',
      '[attestation_token]',
      'insecure_header_jwk = true',
      '[attestation_service]',
      'type = "coco_as_builtin"',
      '[attestation_service.attestation_token_broker]',
      'duration_min = 5',
      '[attestation_service.rvps_config]',
      'type = "BuiltIn"',
      '[admin]',
      'authorization_mode = "InsecureAllowAll"',
      '[storage_backend]',
      'storage_type = "LocalFs"',
      '[storage_backend.backends.local_fs]',
      `dir_path = ${JSON.stringify(storage)}`,
      '[[plugins]]',
      'name = "resource"',
      'storage_backend_type = "kvstorage"',
      '',
    ].join('\n');
    const kbs = await startKbs(toml, { dir, configName: 'dev.toml' });
    try {
      const upload = await httpRequest(kbs.url, { method: 'POST', path: '/kbs/v0/resource/default/key/dev', body: 'dev' });
      expect(upload.status).toBe(200);
      // InsecureAllowAll must be loud: the operator is told at startup.
      expect(kbs.output()).toMatch(/insecure/i);

      // `auth_rate_limit_per_ip` + `auth_rate_burst_per_ip` (trustee-ts, user-needs theme 20): a burst of /auth from one
      // address is cut with 429 TooManyRequests, and a granted session still attests.
      const guests = Array.from({ length: 30 }, () => new IndependentGuest(kbs.url, generateTeeKey('P-256')));
      const answers = await Promise.all(guests.map((g) => g.auth()));
      const granted = guests.filter((_, i) => answers[i]?.status === 200);
      expect(granted.length).toBeGreaterThanOrEqual(1);
      expect(granted.length).toBeLessThan(30);
      for (const answer of answers) if (answer.status !== 200) expectErrorInformation(answer, 429, 'TooManyRequests');
      expect((await granted[0]?.attest())?.status).toBe(200);
    } finally {
      await kbs.stop();
    }
  });
});

