import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `value` to a fresh file `<dir>/<prefix><random hex>` (exclusive create, mode 0600) and
 * fsyncs it, so renaming it onto a target publishes complete contents even after a crash.
 * Returns the temporary path; on failure the partial file is removed.
 */
export async function writeSyncedTempFile(dir: string, prefix: string, value: Uint8Array | string): Promise<string> {
  const temp = join(dir, `${prefix}${randomBytes(12).toString('hex')}`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(value);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  return temp;
}
