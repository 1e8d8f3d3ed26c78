/** Temporary directories that are always removed, even when a test fails. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();

export function makeTempDir(prefix = 'trustee-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}

process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});
