import { constants as fsConstants, promises as fs, readdirSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { assertValidKey, assertValidNamespace } from './keyRules.ts';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { StorageError } from './storageError.ts';
import { writeSyncedTempFile } from './syncedTempFile.ts';

/** Upstream escapes every `/` of a key as these four characters to get a flat file name. */
const SLASH_ESCAPE = '\\x2F';
const TEMP_DIR = '.trustee-tmp';
const EXPIRY_DIR = '.trustee-expiry';

export interface LocalFsStoreOptions {
  /** Root directory (upstream `dir_path`); created if missing. */
  readonly dirPath: string;
  readonly now?: () => number;
}

/**
 * A temporary file older than this is left over from a crashed write (a live write renames its
 * file within milliseconds); it may hold a plaintext secret, so it is deleted.
 */
export const STALE_TEMP_FILE_MS = 30_000;

/**
 * Deletes leftover temporary files of `<root>/.trustee-tmp` older than STALE_TEMP_FILE_MS (younger
 * ones may belong to a write in flight in another process sharing the directory).
 */
export function removeStaleTempFiles(root: string, nowMs: number): void {
  const tempDir = join(root, TEMP_DIR);
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(tempDir, name);
    try {
      if (nowMs - statSync(file).mtimeMs > STALE_TEMP_FILE_MS) rmSync(file, { force: true });
    } catch {
      // gone already (renamed by its writer or removed by another process)
    }
  }
}

/** File name of a key in upstream's LocalFs layout: `default/key/testfile` → `default\x2Fkey\x2Ftestfile`. */
export function localFsFileName(key: string): string {
  assertValidKey(key);
  // `.` and `..` would name the namespace directory or its parent, not a file.
  if (key === '.' || key === '..') throw new StorageError('invalid_key', 'storage key must not be "." or ".."');
  return key.replaceAll('/', SLASH_ESCAPE);
}

function keyFromFileName(fileName: string): string {
  return fileName.replaceAll(SLASH_ESCAPE, '/');
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Directory-per-namespace store, byte-compatible with upstream's LocalFs backend so existing
 * volumes keep working: `<dir>/<namespace>/<key with "/" as \x2F>`, file content = the value.
 *
 * Writes go to a temporary file that is fsynced and renamed into place, so a reader never sees a
 * half-written value. Expiry (which upstream's LocalFs lacks) is kept outside the namespace
 * directories, in `<dir>/.trustee-expiry/<namespace>/<file>`, so the namespace directories stay
 * exactly upstream's layout.
 */
export class LocalFsStore implements KeyValueStore {
  readonly #root: string;
  readonly #now: () => number;
  #closed = false;

  readonly #tempSweep: NodeJS.Timeout;

  /** Opening removes temporary files a crash left behind, now and once more after STALE_TEMP_FILE_MS. */
  constructor(options: LocalFsStoreOptions) {
    this.#root = options.dirPath;
    this.#now = options.now ?? Date.now;
    removeStaleTempFiles(this.#root, Date.now());
    this.#tempSweep = setTimeout(() => removeStaleTempFiles(this.#root, Date.now()), STALE_TEMP_FILE_MS + 1_000);
    this.#tempSweep.unref();
  }

  #paths(namespace: string, key: string): { file: string; expiry: string; namespaceDir: string; expiryDir: string } {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    assertValidNamespace(namespace);
    const name = localFsFileName(key);
    const namespaceDir = join(this.#root, namespace);
    const expiryDir = join(this.#root, EXPIRY_DIR, namespace);
    return { file: join(namespaceDir, name), expiry: join(expiryDir, name), namespaceDir, expiryDir };
  }

  async #expiry(path: string): Promise<number | undefined> {
    try {
      const text = await fs.readFile(path, 'utf8');
      const value = Number(text);
      return Number.isFinite(value) ? value : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Whether the key is present and not expired; removes it when it has expired. */
  async #isLive(paths: { file: string; expiry: string }): Promise<boolean> {
    const expiresAt = await this.#expiry(paths.expiry);
    if (expiresAt !== undefined && expiresAt <= this.#now()) {
      await fs.rm(paths.file, { force: true });
      await fs.rm(paths.expiry, { force: true });
      return false;
    }
    try {
      return (await fs.stat(paths.file)).isFile();
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async #wrap<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError('backend_failure', `LocalFs: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  async #writeTemp(value: Uint8Array): Promise<string> {
    const tempDir = join(this.#root, TEMP_DIR);
    await fs.mkdir(tempDir, { recursive: true });
    return writeSyncedTempFile(tempDir, '', value);
  }

  /** A value file that is a symlink must resolve inside the store root (nothing outside is ever read). */
  async #contained(file: string): Promise<string | undefined> {
    const stat = await fs.lstat(file);
    if (!stat.isSymbolicLink()) return stat.isFile() ? file : undefined;
    const [real, realRoot] = await Promise.all([fs.realpath(file), fs.realpath(this.#root)]);
    return real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep) && (await fs.stat(real)).isFile() ? real : undefined;
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const paths = this.#paths(namespace, key);
    return this.#wrap(async () => {
      if (!(await this.#isLive(paths))) return undefined;
      try {
        const file = await this.#contained(paths.file);
        if (file === undefined) return undefined;
        return new Uint8Array(await fs.readFile(file));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    const paths = this.#paths(namespace, key);
    return this.#wrap(async () => {
      await fs.mkdir(paths.namespaceDir, { recursive: true });
      const temp = await this.#writeTemp(value);
      try {
        if (options.overwrite === false) {
          await this.#isLive(paths);
          try {
            // link() fails if the target exists: an atomic create-if-absent, also across processes.
            await fs.link(temp, paths.file);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
            throw error;
          }
          await this.#writeExpiry(paths, options.expiresAtMs);
          return true;
        }
        await this.#writeExpiry(paths, options.expiresAtMs);
        await fs.rename(temp, paths.file);
        return true;
      } finally {
        await fs.rm(temp, { force: true });
      }
    });
  }

  async #writeExpiry(paths: { expiry: string; expiryDir: string }, expiresAtMs: number | undefined): Promise<void> {
    if (expiresAtMs === undefined) {
      await fs.rm(paths.expiry, { force: true });
      return;
    }
    await fs.mkdir(paths.expiryDir, { recursive: true });
    const temp = await this.#writeTemp(Buffer.from(String(expiresAtMs)));
    await fs.rename(temp, paths.expiry);
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const paths = this.#paths(namespace, key);
    return this.#wrap(async () => {
      const existed = await this.#isLive(paths);
      await fs.rm(paths.file, { force: true });
      await fs.rm(paths.expiry, { force: true });
      return existed;
    });
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    assertValidNamespace(namespace);
    return this.#wrap(async () => {
      let entries: string[];
      try {
        entries = await fs.readdir(join(this.#root, namespace));
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const keys: string[] = [];
      for (const entry of entries) {
        const key = keyFromFileName(entry);
        if (!key.startsWith(prefix)) continue;
        let paths;
        try {
          paths = this.#paths(namespace, key);
        } catch {
          continue; // a foreign file whose name is not a valid key
        }
        if (await this.#isLive(paths)) keys.push(key);
      }
      return keys.sort();
    });
  }

  /** The directory exists (created if missing, as the first write would) and is writable. */
  async ping(): Promise<void> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    try {
      await fs.mkdir(this.#root, { recursive: true });
      await fs.access(this.#root, fsConstants.R_OK | fsConstants.W_OK);
    } catch (error) {
      throw new StorageError('backend_failure', `${this.#root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#tempSweep);
  }
}
