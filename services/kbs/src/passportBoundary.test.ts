/**
 * Invariant: a passport resource KBS (`[attestation_service] type = "none"`, tokens checked by the
 * KBS's own verifier in token/) loads no code of the attestation service, the RVPS or the
 * verifiers. Of @trustee/attestation and @trustee/verifiers it loads exactly the config schemas
 * its config file is validated with (`verifier_config` and the other builtin-AS keys, refused
 * there with a message, and the verifiers' own table schemas): four modules that import only
 * zod, @trustee/config and @trustee/protocol. A builtin-AS KBS, by contrast, does load them all
 * (the recording sees what it should). The module graph is recorded in a child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, stringify } from 'smol-toml';
import { afterAll, expect, test } from 'vitest';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kbs-boundary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The repository-relative paths of the source modules a composition loads. */
async function loadedModules(edit: (raw: Record<string, unknown>) => void, name: string): Promise<string[]> {
  const paths = await prepareDevEnvironment(join(dir, name));
  const raw = parseToml(devConfigToml(paths)) as Record<string, unknown>;
  edit(raw);
  const configPath = join(dir, `${name}.toml`);
  writeFileSync(configPath, stringify(raw));
  const record = join(dir, `${name}.loads`);
  writeFileSync(record, '');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', join(here, 'testing/recordModuleLoads.mjs'), join(here, 'testing/composePassportKbs.ts'), configPath], {
    env: { ...process.env, RECORD_MODULE_LOADS: record },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(out).toContain('composed');
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file://'))
    .map((url) => fileURLToPath(url).slice(root.length));
}

/** Every module of the attestation core, the RVPS core and the verifiers. */
const attestationPackages = (path: string): boolean => /^packages\/(attestation|rvps|verifiers)\/src\//.test(path);

/** What a KBS config is validated with, and nothing else of those packages. */
const CONFIG_SCHEMAS = [
  'packages/attestation/src/config.ts',
  'packages/attestation/src/nvidiaVerifierTable.ts',
  'packages/verifiers/src/supported.ts',
  'packages/verifiers/src/verifierConfigSchemas.ts',
];

test('a passport resource KBS loads none of the attestation service, RVPS or verifiers beyond their config schemas; a builtin-AS KBS does', { timeout: 240_000 }, async () => {
  const passport = await loadedModules((raw) => {
    raw['attestation_service'] = { type: 'none' };
  }, 'passport');
  expect(passport).toContain('services/kbs/src/compose.ts');
  expect(passport).toContain('services/kbs/src/token/tokenVerifier.ts');
  expect([...new Set(passport.filter(attestationPackages))].sort()).toEqual(CONFIG_SCHEMAS);

  const builtin = await loadedModules(() => {}, 'builtin');
  for (const module of ['packages/attestation/src/attestationService.ts', 'packages/rvps/src/builtinRvps.ts', 'packages/verifiers/src/registry.ts', 'packages/verifiers/src/snp/snpVerifier.ts']) {
    expect(builtin).toContain(module);
  }
  expect(builtin.filter(attestationPackages).length).toBeGreaterThan(50);
});
