/**
 * Invariant: a separate process reaches the fake vault with nothing but configuration and
 * `processEnvironment()` — the CA through NODE_EXTRA_CA_CERTS (TLS verification stays on), a
 * token through the managed identity endpoint — so process-level (e2e) tests of a KBS with
 * `storage_backend_type = "AzureKeyVault"` need no test hooks in the KBS.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { secretNameForKey } from '../secretName.ts';
import { FakeKeyVault } from './fakeKeyVault.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');
let vault: FakeKeyVault;
let dir: string;

beforeAll(async () => {
  vault = await FakeKeyVault.start();
  dir = mkdtempSync(join(tmpdir(), 'akv-process-'));
  writeFileSync(join(dir, 'ca.pem'), vault.caPem);
});
afterAll(async () => {
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

async function probe(table: Record<string, unknown>, key: string): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(join(repo, 'node_modules/.bin/tsx'), [join(here, 'probeProcess.ts'), JSON.stringify(table), key], {
      cwd: repo,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...vault.processEnvironment(join(dir, 'ca.pem')) },
      timeout: 60_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: failed.code ?? -1 };
  }
}

test('managed_identity + disable_challenge_resource_verification: a process reads the secret', async () => {
  vault.putSecret(secretNameForKey('default/akv/coco_one'), 'from-a-process');
  const result = await probe({ vault_url: vault.url, credential: 'managed_identity', disable_challenge_resource_verification: true }, 'default/akv/coco_one');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ value: Buffer.from('from-a-process').toString('base64') });
  expect(result.stderr).toMatch(/"level":"warn".*disable_challenge_resource_verification = true/);
  expect(vault.requests.some((request) => request.path === '/msi/token' && request.authorized)).toBe(true);
}, 60_000);

test('without disable_challenge_resource_verification the SDK refuses the 127.0.0.1 vault', async () => {
  const result = await probe({ vault_url: vault.url, credential: 'managed_identity' }, 'default/akv/coco_one');
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/challenge resource 'vault\.azure\.net' does not match the requested domain/);
}, 60_000);
