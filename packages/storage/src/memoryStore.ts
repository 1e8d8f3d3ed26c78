import { assertKeyLimits } from './keyRules.ts';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { StorageError } from './storageError.ts';

interface Entry {
  readonly value: Uint8Array;
  readonly expiresAtMs: number | undefined;
}

/**
 * In-process store: nothing survives a restart and nothing is shared between replicas.
 * For tests and for `storage_type = "Memory"`.
 */
export class MemoryStore implements KeyValueStore {
  readonly #namespaces = new Map<string, Map<string, Entry>>();
  readonly #now: () => number;
  #closed = false;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #live(namespace: string, key: string): Entry | undefined {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    const entries = this.#namespaces.get(namespace);
    const entry = entries?.get(key);
    if (entry?.expiresAtMs !== undefined && entry.expiresAtMs <= this.#now()) {
      entries?.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const entry = this.#live(namespace, key);
    return entry === undefined ? undefined : Uint8Array.from(entry.value);
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    assertKeyLimits(key);
    if (options.overwrite === false && this.#live(namespace, key) !== undefined) return false;
    let entries = this.#namespaces.get(namespace);
    if (entries === undefined) {
      entries = new Map();
      this.#namespaces.set(namespace, entries);
    }
    entries.set(key, { value: Uint8Array.from(value), expiresAtMs: options.expiresAtMs });
    return true;
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const existed = this.#live(namespace, key) !== undefined;
    this.#namespaces.get(namespace)?.delete(key);
    return existed;
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    const entries = this.#namespaces.get(namespace);
    if (entries === undefined) return [];
    return [...entries.keys()].filter((key) => key.startsWith(prefix) && this.#live(namespace, key) !== undefined).sort();
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#namespaces.clear();
  }
}
