/**
 * Invariant: LocalFsStore is byte-compatible with upstream's on-disk layout
 * (`<dir>/<namespace>/<key with "/" as \x2F>`) and no key or namespace can address a file
 * outside its namespace directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { LocalFsStore, localFsFileName, removeStaleTempFiles, STALE_TEMP_FILE_MS } from './localFsStore.ts';
import { StorageError } from './storageError.ts';

const dirs: string[] = [];
function root(): string {
  const dir = mkdtempSync(join(tmpdir(), 'localfs-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('writes upstream file names and reads files upstream wrote', async () => {
  const dir = root();
  const store = new LocalFsStore({ dirPath: dir });
  await store.set('repository', 'default/key/testfile', new TextEncoder().encode('secret'));
  expect(readFileSync(join(dir, 'repository', 'default\\x2Fkey\\x2Ftestfile'), 'utf8')).toBe('secret');
  expect(readdirSync(join(dir, 'repository'))).toEqual(['default\\x2Fkey\\x2Ftestfile']);

  mkdirSync(join(dir, 'kbs'), { recursive: true });
  writeFileSync(join(dir, 'kbs', 'resource-policy.rego'), 'package policy\n');
  expect(new TextDecoder().decode(await store.get('kbs', 'resource-policy.rego'))).toBe('package policy\n');
  expect(await store.list('repository')).toEqual(['default/key/testfile']);
});

test('no temporary or bookkeeping files appear in namespace directories', async () => {
  const dir = root();
  const store = new LocalFsStore({ dirPath: dir });
  await store.set('kbs_protocol_session', 'abc', new Uint8Array([1]), { expiresAtMs: Date.now() + 60_000 });
  await store.set('kbs_protocol_session', 'def', new Uint8Array([2]), { overwrite: false });
  expect(readdirSync(join(dir, 'kbs_protocol_session')).sort()).toEqual(['abc', 'def']);
});

test.each([
  ['..'],
  ['.'],
  ['a\\b'],
  ['a b'],
  ['%2e%2e'],
  [''],
  ['a\u0000b'],
  ['ümlaut'],
])('rejects key %j with a typed error', async (key) => {
  const dir = root();
  const store = new LocalFsStore({ dirPath: dir });
  await expect(store.set('repository', key, new Uint8Array([1]))).rejects.toBeInstanceOf(StorageError);
  await expect(store.get('repository', key)).rejects.toBeInstanceOf(StorageError);
  expect(existsSync(join(dir, 'repository'))).toBe(false);
});

test('a key full of dots and slashes stays one flat file inside the namespace', async () => {
  const dir = root();
  const store = new LocalFsStore({ dirPath: dir });
  const name = `escape-${process.pid}-${Date.now()}`;
  await store.set('repository', `../../${name}`, new Uint8Array([1]));
  expect(readdirSync(join(dir, 'repository'))).toEqual([`..\\x2F..\\x2F${name}`]);
  expect(existsSync(join(dir, '..', name))).toBe(false);
  expect(existsSync(join(dir, '..', '..', name))).toBe(false);
});

test.each([['..'], ['.'], ['a/b'], ['.trustee-tmp'], [''], ['/abs']])('rejects namespace %j', async (namespace) => {
  const store = new LocalFsStore({ dirPath: root() });
  await expect(store.get(namespace, 'k')).rejects.toBeInstanceOf(StorageError);
  await expect(store.list(namespace)).rejects.toBeInstanceOf(StorageError);
});

test('localFsFileName escapes every slash', () => {
  expect(localFsFileName('a/b/c')).toBe('a\\x2Fb\\x2Fc');
  expect(() => localFsFileName('..')).toThrow(StorageError);
});

test('LocalJsonStore writes upstream\'s single-file layout (URL-safe base64 with padding) and reads it back', async () => {
  const dir = root();
  const { LocalJsonStore } = await import('./localJsonStore.ts');
  writeFileSync(join(dir, 'repository'), JSON.stringify({ 'default/key/old': Buffer.from([0xfb, 0xff]).toString('base64url') + '=' }));
  const store = new LocalJsonStore({ fileDirPath: dir });
  expect(await store.get('repository', 'default/key/old')).toEqual(new Uint8Array([0xfb, 0xff]));
  await store.set('repository', 'default/key/new', new Uint8Array([0xfb, 0xff, 0xfe, 0x01]));
  expect(JSON.parse(readFileSync(join(dir, 'repository'), 'utf8'))).toEqual({ 'default/key/old': '-_8=', 'default/key/new': '-__-AQ==' });
  expect(readdirSync(dir).sort()).toEqual(['repository']);
});

test('a value file that is a symlink out of the store root reads as absent; one inside is followed', async () => {
  const dir = root();
  const outside = root();
  writeFileSync(join(outside, 'secret'), 'must-not-leak');
  mkdirSync(join(dir, 'repository'), { recursive: true });
  writeFileSync(join(dir, 'repository', 'a\\x2Fb\\x2Freal'), 'inside');
  symlinkSync(join(outside, 'secret'), join(dir, 'repository', 'a\\x2Fb\\x2Fescape'));
  symlinkSync(join(dir, 'repository', 'a\\x2Fb\\x2Freal'), join(dir, 'repository', 'a\\x2Fb\\x2Falias'));
  const store = new LocalFsStore({ dirPath: dir });
  expect(await store.get('repository', 'a/b/escape')).toBeUndefined();
  expect(new TextDecoder().decode(await store.get('repository', 'a/b/alias'))).toBe('inside');
});

test('opening the store deletes temporary files a crash left behind (plaintext secrets), not writes in flight', async () => {
  const dir = root();
  const tempDir = join(dir, '.trustee-tmp');
  mkdirSync(tempDir, { recursive: true });
  writeFileSync(join(tempDir, 'crashed'), 'plaintext secret');
  const old = new Date(Date.now() - STALE_TEMP_FILE_MS - 5_000);
  utimesSync(join(tempDir, 'crashed'), old, old);
  writeFileSync(join(tempDir, 'in-flight'), 'being written');
  const store = new LocalFsStore({ dirPath: dir });
  expect(readdirSync(tempDir)).toEqual(['in-flight']);
  // The second pass (after STALE_TEMP_FILE_MS) removes what was young at open.
  removeStaleTempFiles(dir, Date.now() + STALE_TEMP_FILE_MS + 1);
  expect(readdirSync(tempDir)).toEqual([]);
  await store.set('kbs', 'k', new TextEncoder().encode('v'));
  expect(readdirSync(tempDir)).toEqual([]);
  await store.close();
  // A store on a directory that does not exist yet opens fine.
  await new LocalFsStore({ dirPath: join(dir, 'fresh') }).close();
});
