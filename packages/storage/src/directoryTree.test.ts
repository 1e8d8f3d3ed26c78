/**
 * Invariant: the nested repository tree serves `<root>/<repo>/<type>/<tag>` (a CSI mount) and
 * nothing outside the root — not through `..`, encoded dots, absolute paths, nor symlinks.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { DirectoryTree } from './directoryTree.ts';
import { MemoryStore } from './memoryStore.ts';
import { ResourceRepository } from './resourceRepository.ts';
import { StorageError } from './storageError.ts';

const dirs: string[] = [];
/** A sandbox with `outside/secret` next to the tree root `repository/`. */
function sandbox(): { base: string; root: string } {
  const base = mkdtempSync(join(tmpdir(), 'tree-'));
  dirs.push(base);
  const root = join(base, 'repository');
  mkdirSync(join(root, 'default', 'akv'), { recursive: true });
  writeFileSync(join(root, 'default', 'akv', 'coco_one'), 'from-csi');
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret'), 'must-not-leak');
  return { base, root };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('serves a nested file as repo/type/tag', async () => {
  const { root } = sandbox();
  const tree = new DirectoryTree(root);
  expect(new TextDecoder().decode(await tree.read('default/akv/coco_one'))).toBe('from-csi');
  expect(await tree.read('default/akv/missing')).toBeUndefined();
  expect(await tree.read('default/akv')).toBeUndefined(); // a directory is not a resource
});

test.each([['../outside/secret'], ['default/../../outside/secret'], ['%2e%2e/outside/secret'], ['/etc/passwd'], ['default//akv'], ['.hidden/a/b'], ['a\\..\\b'], ['']])(
  'rejects traversal key %j',
  async (key) => {
    const { root } = sandbox();
    const tree = new DirectoryTree(root);
    const result = await tree.read(key).catch((error: unknown) => error);
    if (result instanceof StorageError) expect(result.code).toBe('invalid_key');
    else expect(result).toBeUndefined();
  },
);

test('a symlink pointing outside the root is not followed; one inside the root is', async () => {
  const { base, root } = sandbox();
  symlinkSync(join(base, 'outside', 'secret'), join(root, 'default', 'akv', 'escape'));
  symlinkSync(join(base, 'outside'), join(root, 'linkdir'));
  symlinkSync(join(root, 'default', 'akv', 'coco_one'), join(root, 'default', 'akv', 'alias'));
  const tree = new DirectoryTree(root);
  expect(await tree.read('default/akv/escape')).toBeUndefined();
  expect(await tree.read('linkdir/x/secret')).toBeUndefined();
  expect(await tree.read('linkdir/secret')).toBeUndefined();
  expect(new TextDecoder().decode(await tree.read('default/akv/alias'))).toBe('from-csi');
});

test('writes cannot escape through a symlinked directory', async () => {
  const { base, root } = sandbox();
  symlinkSync(join(base, 'outside'), join(root, 'linkdir'));
  const tree = new DirectoryTree(root);
  await expect(tree.write('linkdir/secret', new Uint8Array([1]))).rejects.toBeInstanceOf(StorageError);
  await tree.write('repo/type/tag', new TextEncoder().encode('v'));
  expect(new TextDecoder().decode(await tree.read('repo/type/tag'))).toBe('v');
  expect(await tree.delete('repo/type/tag')).toBe(true);
  expect(await tree.delete('repo/type/tag')).toBe(false);
});

test('a missing root reads as empty', async () => {
  const tree = new DirectoryTree(join(tmpdir(), 'does-not-exist-trustee-tree'));
  expect(await tree.read('a/b/c')).toBeUndefined();
});

test('ResourceRepository prefers the store and falls back to the tree', async () => {
  const { root } = sandbox();
  const store = new MemoryStore();
  const repository = new ResourceRepository({ store, treeRoot: root });
  expect(new TextDecoder().decode(await repository.read('default/akv/coco_one'))).toBe('from-csi');
  await repository.write('default/akv/coco_one', new TextEncoder().encode('from-store'));
  expect(new TextDecoder().decode(await repository.read('default/akv/coco_one'))).toBe('from-store');
  expect(await repository.delete('default/akv/coco_one')).toBe(true);
  expect(new TextDecoder().decode(await repository.read('default/akv/coco_one'))).toBe('from-csi');
});
