import { promises as fs } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { StorageError } from './storageError.ts';
import { writeSyncedTempFile } from './syncedTempFile.ts';

/** One path segment: no leading dot (so never `.` or `..`), no separators, no NUL. */
const SEGMENT_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const MAX_SEGMENTS = 16;

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A nested directory tree served as keys: key `default/akv/coco_one` ↔ file
 * `<root>/default/akv/coco_one`. This is the layout of upstream's former LocalFs resource
 * backend and of a Secrets Store CSI volume mounted under the repository directory.
 *
 * Nothing outside `root` can be reached: every segment must match `[A-Za-z0-9_-][A-Za-z0-9_.-]*`
 * (which excludes `..`, empty segments and absolute paths), and the real path of the target,
 * after resolving symlinks, must still lie below the real path of the root. A symlink inside the
 * tree that points inside the tree is followed (CSI drivers publish files through symlinks).
 */
export class DirectoryTree {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #segments(key: string): string[] {
    const segments = typeof key === 'string' ? key.split('/') : [];
    if (segments.length === 0 || segments.length > MAX_SEGMENTS || !segments.every((segment) => SEGMENT_PATTERN.test(segment))) {
      throw new StorageError('invalid_key', 'tree key must be "/"-separated segments of [A-Za-z0-9_.-] not starting with "."');
    }
    return segments;
  }

  async #realRoot(): Promise<string | undefined> {
    try {
      return await fs.realpath(this.#root);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Resolves `path` and returns its real path if it exists and lies strictly inside the root. */
  async #contained(path: string): Promise<string | undefined> {
    const realRoot = await this.#realRoot();
    if (realRoot === undefined) return undefined;
    let real: string;
    try {
      real = await fs.realpath(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const rootPrefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
    return real.startsWith(rootPrefix) ? real : undefined;
  }

  async #wrap<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError('backend_failure', `directory tree: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  /** Reads a regular file; `undefined` if absent, not a regular file, or outside the root. */
  async read(key: string): Promise<Uint8Array | undefined> {
    const segments = this.#segments(key);
    return this.#wrap(async () => {
      const real = await this.#contained(join(this.#root, ...segments));
      if (real === undefined) return undefined;
      const stat = await fs.stat(real);
      if (!stat.isFile()) return undefined;
      try {
        return new Uint8Array(await fs.readFile(real));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  /** Writes atomically (temp file + rename in the target directory), creating parent directories. */
  async write(key: string, value: Uint8Array): Promise<void> {
    const segments = this.#segments(key);
    await this.#wrap(async () => {
      const target = join(this.#root, ...segments);
      await fs.mkdir(dirname(target), { recursive: true });
      const realRoot = await fs.realpath(this.#root);
      const realParent = await fs.realpath(dirname(target));
      if (realParent !== realRoot && !realParent.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
        throw new StorageError('invalid_key', 'tree key resolves outside the root');
      }
      const existing = await fs.lstat(target).catch(() => undefined);
      if (existing !== undefined && !existing.isFile()) throw new StorageError('invalid_key', 'tree key names a directory or link');
      const temp = await writeSyncedTempFile(dirname(target), '.tmp-', value);
      try {
        await fs.rename(temp, target);
      } finally {
        await fs.rm(temp, { force: true });
      }
    });
  }

  /** Deletes a regular file inside the root; returns whether it existed. */
  async delete(key: string): Promise<boolean> {
    const segments = this.#segments(key);
    return this.#wrap(async () => {
      const target = join(this.#root, ...segments);
      const stat = await fs.lstat(target).catch(() => undefined);
      if (stat === undefined || !stat.isFile()) return false;
      if ((await this.#contained(target)) === undefined) return false;
      await fs.rm(target);
      return true;
    });
  }
}
