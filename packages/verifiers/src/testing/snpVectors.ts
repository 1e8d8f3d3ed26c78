import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Locates the shared real-hardware vectors (`<repo>/../shared/vectors`) from this file, so tests
 * can read them in place and skip cleanly when they are absent.
 */
function findVectorsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i += 1) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) {
      const candidate = resolve(dir, '..', 'shared', 'vectors');
      return existsSync(candidate) ? candidate : undefined;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** `TRUSTEE_VECTORS_DIR` overrides the location; `TRUSTEE_VECTORS_DIR=none` runs as if absent. */
function vectorsDirFromEnv(): string | undefined {
  const fromEnv = process.env['TRUSTEE_VECTORS_DIR'];
  if (fromEnv === undefined || fromEnv === '') return findVectorsDir();
  return fromEnv === 'none' || !existsSync(fromEnv) ? undefined : fromEnv;
}

export const VECTORS_DIR = vectorsDirFromEnv();

/** True when the shared vectors directory and every named file exist. */
export function hasVectors(...files: string[]): boolean {
  return VECTORS_DIR !== undefined && files.every((file) => existsSync(join(VECTORS_DIR as string, file)));
}

export function readVector(file: string): Uint8Array {
  if (VECTORS_DIR === undefined) throw new Error('shared vectors are not available');
  return new Uint8Array(readFileSync(join(VECTORS_DIR, file)));
}

export function readVectorText(file: string): string {
  return Buffer.from(readVector(file)).toString('utf8');
}
