import { constants as fsConstants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { assertKeyLimits, assertValidNamespace } from './keyRules.ts';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { StorageError } from './storageError.ts';
import { writeSyncedTempFile } from './syncedTempFile.ts';

const EXPIRY_SUFFIX = '.trustee-expiry';

export interface LocalJsonStoreOptions {
  /** Directory holding one file per namespace (upstream `file_dir_path`). */
  readonly fileDirPath: string;
  readonly now?: () => number;
}

type Document = Record<string, string>;

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Upstream's LocalJson layout, for existing volumes: `<dir>/<namespace>` is one JSON object
 * key → URL-safe base64 WITH padding of the value, rewritten whole (temp file + rename) on each
 * change. Expiry lives beside it in `<dir>/.<namespace>.trustee-expiry` (key → ms). Writes are
 * serialised per namespace inside this process only: use Sqlite when several processes share
 * the state.
 */
export class LocalJsonStore implements KeyValueStore {
  readonly #dir: string;
  readonly #now: () => number;
  readonly #queues = new Map<string, Promise<unknown>>();
  #closed = false;

  constructor(options: LocalJsonStoreOptions) {
    this.#dir = options.fileDirPath;
    this.#now = options.now ?? Date.now;
  }

  #check(namespace: string): void {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    assertValidNamespace(namespace);
  }

  async #read(path: string): Promise<Document> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return {};
      throw new StorageError('backend_failure', `LocalJson: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new StorageError('backend_failure', `LocalJson: ${path} is not JSON`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new StorageError('backend_failure', `LocalJson: ${path} is not a JSON object`);
    const document: Document = Object.create(null) as Document;
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') document[key] = value;
    return document;
  }

  async #write(path: string, document: Document): Promise<void> {
    await fs.mkdir(this.#dir, { recursive: true });
    let temp: string | undefined;
    try {
      temp = await writeSyncedTempFile(this.#dir, '.tmp-', JSON.stringify(document));
      await fs.rename(temp, path);
    } catch (error) {
      if (temp !== undefined) await fs.rm(temp, { force: true });
      throw new StorageError('backend_failure', `LocalJson: ${(error as NodeJS.ErrnoException).code ?? 'write error'}`, { cause: error });
    }
  }

  /** Runs `action` after every earlier action on the namespace (read-modify-write without lost updates). */
  #serial<T>(namespace: string, action: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(namespace) ?? Promise.resolve();
    const next = previous.then(action, action);
    this.#queues.set(namespace, next.catch(() => undefined));
    return next;
  }

  async #state(namespace: string): Promise<{ values: Document; expiry: Document }> {
    return { values: await this.#read(join(this.#dir, namespace)), expiry: await this.#read(join(this.#dir, `.${namespace}${EXPIRY_SUFFIX}`)) };
  }

  #live(state: { values: Document; expiry: Document }, key: string): boolean {
    if (!Object.hasOwn(state.values, key)) return false;
    const expiresAt = state.expiry[key];
    return expiresAt === undefined || Number(expiresAt) > this.#now();
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    this.#check(namespace);
    const state = await this.#state(namespace);
    const encoded = state.values[key];
    if (encoded === undefined || !this.#live(state, key)) return undefined;
    return new Uint8Array(Buffer.from(encoded, 'base64url'));
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    assertKeyLimits(key);
    this.#check(namespace);
    return this.#serial(namespace, async () => {
      const state = await this.#state(namespace);
      if (options.overwrite === false && this.#live(state, key)) return false;
      // URL-safe alphabet WITH padding, as upstream's URL_SAFE engine writes it.
      state.values[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
      const hadExpiry = Object.hasOwn(state.expiry, key);
      if (options.expiresAtMs !== undefined) state.expiry[key] = String(options.expiresAtMs);
      else delete state.expiry[key];
      if (options.expiresAtMs !== undefined || hadExpiry) await this.#write(join(this.#dir, `.${namespace}${EXPIRY_SUFFIX}`), state.expiry);
      await this.#write(join(this.#dir, namespace), state.values);
      return true;
    });
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.#check(namespace);
    return this.#serial(namespace, async () => {
      const state = await this.#state(namespace);
      if (!Object.hasOwn(state.values, key)) return false;
      const existed = this.#live(state, key);
      delete state.values[key];
      await this.#write(join(this.#dir, namespace), state.values);
      if (Object.hasOwn(state.expiry, key)) {
        delete state.expiry[key];
        await this.#write(join(this.#dir, `.${namespace}${EXPIRY_SUFFIX}`), state.expiry);
      }
      return existed;
    });
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    this.#check(namespace);
    const state = await this.#state(namespace);
    if (Object.keys(state.values).some((key) => !this.#live(state, key))) await this.#purgeExpired(namespace);
    return Object.keys(state.values)
      .filter((key) => key.startsWith(prefix) && this.#live(state, key))
      .sort();
  }

  /** Drops expired keys from the files (listing triggers it, so a periodic list sweeps). */
  async #purgeExpired(namespace: string): Promise<void> {
    await this.#serial(namespace, async () => {
      const state = await this.#state(namespace);
      const expired = Object.keys(state.values).filter((key) => !this.#live(state, key));
      if (expired.length === 0) return;
      for (const key of expired) {
        delete state.values[key];
        delete state.expiry[key];
      }
      await this.#write(join(this.#dir, namespace), state.values);
      await this.#write(join(this.#dir, `.${namespace}${EXPIRY_SUFFIX}`), state.expiry);
    });
  }

  /** The directory exists (created if missing, as the first write would) and is writable. */
  async ping(): Promise<void> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    try {
      await fs.mkdir(this.#dir, { recursive: true });
      await fs.access(this.#dir, fsConstants.R_OK | fsConstants.W_OK);
    } catch (error) {
      throw new StorageError('backend_failure', `${this.#dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
