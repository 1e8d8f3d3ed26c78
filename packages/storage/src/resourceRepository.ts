import { DirectoryTree } from './directoryTree.ts';
import type { KeyValueStore } from './keyValueStore.ts';

/** Upstream's namespace for resources (`kvstorage` resource backend). */
export const REPOSITORY_NAMESPACE = 'repository';

export interface ResourceRepositoryOptions {
  /** Key-value store holding resources under `namespace`, keyed `repo/type/tag`. */
  readonly store?: KeyValueStore;
  readonly namespace?: string;
  /**
   * Root of a nested tree `<root>/<repo>/<type>/<tag>` consulted when the store has no value
   * (e.g. `<dir_path>/repository` for a Secrets Store CSI mount). Read-only unless the store is absent.
   */
  readonly treeRoot?: string;
}

/**
 * Where the `resource` plugin reads and writes secrets: the key-value store first, then a
 * nested directory tree. With only a tree (upstream's legacy LocalFs resource backend) writes
 * and deletes go to the tree.
 */
export class ResourceRepository {
  readonly #store: KeyValueStore | undefined;
  readonly #namespace: string;
  readonly #tree: DirectoryTree | undefined;

  constructor(options: ResourceRepositoryOptions) {
    this.#store = options.store;
    this.#namespace = options.namespace ?? REPOSITORY_NAMESPACE;
    this.#tree = options.treeRoot === undefined ? undefined : new DirectoryTree(options.treeRoot);
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const stored = this.#store === undefined ? undefined : await this.#store.get(this.#namespace, path);
    if (stored !== undefined) return stored;
    return this.#tree === undefined ? undefined : this.#tree.read(path);
  }

  async write(path: string, value: Uint8Array): Promise<void> {
    if (this.#store !== undefined) {
      await this.#store.set(this.#namespace, path, value);
      return;
    }
    await this.#tree?.write(path, value);
  }

  /** Returns whether something was deleted. Files of a mounted tree are not deleted when a store exists. */
  async delete(path: string): Promise<boolean> {
    if (this.#store !== undefined) return this.#store.delete(this.#namespace, path);
    return this.#tree === undefined ? false : this.#tree.delete(path);
  }
}
