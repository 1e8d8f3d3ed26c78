/**
 * Invariant: a passport resource KBS (`[attestation_service] type = "none"`) does not load the
 * attestation service: no module of @trustee/attestation but its config schema and the token
 * verifier, and of @trustee/verifiers only the list of what it verifies: no verifier, appraisal
 * policy, RVPS or token signer. A builtin-AS KBS, by
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

const attestationService = (path: string): boolean =>
  (path.startsWith('packages/attestation/src/') && !/^packages\/attestation\/src\/(config|json|token\/tokenVerifier|token\/loadJwkSet|token\/verifyCertificateChain|token\/pemCertificates|attestationError)\.ts$/.test(path)) ||
  (path.startsWith('packages/verifiers/src/') && !/^packages\/verifiers\/src\/(supported|verifier|tpm\/trustedAks)\.ts$/.test(path));

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
