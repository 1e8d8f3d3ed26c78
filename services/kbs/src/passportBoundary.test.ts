/**
 * Invariant: a passport resource KBS (`[attestation_service] type = "none"`) does not load the
 * attestation service: no appraisal core, appraisal policy engine or store, RVPS, token signer or
 * EAR builder. TODO: the `verifier_config` schemas (@trustee/attestation/config) import
 * @trustee/verifiers' index, so the verifiers themselves are still loaded; moving those schemas
 * into modules of their own would let this test refuse every verifier module too. A builtin-AS KBS, by
 * contrast, does load them (the recording sees what it should).
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

/**
 * The attestation service proper: the appraisal core, its policy engine and store, the RVPS,
 * the token signer and EAR builder. (The verifiers' config schemas that the `verifier_config`
 * check imports still pull @trustee/verifiers' index in: see the TODO at the top.)
 */
const attestationService = (path: string): boolean =>
  /^packages\/attestation\/src\/(index|attestationService|expectedReportData|initData|transformClaims|trustVector|verifierCollateral)\.ts$/.test(path) ||
  /^packages\/attestation\/src\/policy\//.test(path) ||
  /^packages\/rvps\/src\//.test(path) ||
  /^packages\/attestation\/src\/token\/(tokenSigner|buildEar)\.ts$/.test(path);

test('a passport resource KBS loads neither the attestation service nor its verifiers; a builtin-AS KBS does', { timeout: 240_000 }, async () => {
  const passport = await loadedModules((raw) => {
    raw['attestation_service'] = { type: 'none' };
  }, 'passport');
  expect(passport.some((path) => path === 'services/kbs/src/compose.ts')).toBe(true);
  expect(passport.filter(attestationService)).toEqual([]);

  const builtin = await loadedModules(() => {}, 'builtin');
  expect(builtin).toContain('packages/attestation/src/attestationService.ts');
  expect(builtin.filter(attestationService).length).toBeGreaterThan(10);
});
