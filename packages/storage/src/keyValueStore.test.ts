/**
 * Invariant: every KeyValueStore backend behaves the same to its callers — absent keys read as
 * undefined, overwrite=false never replaces a live value, expired keys are absent everywhere,
 * namespaces are isolated, list is sorted and prefix-filtered, values are copied bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { KeyValueStore } from './keyValueStore.ts';
import { LocalFsStore } from './localFsStore.ts';
import { LocalJsonStore } from './localJsonStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { SqliteStore } from './sqliteStore.ts';

interface Clock {
  now: number;
}

const directories: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kv-contract-'));
  directories.push(dir);
  return dir;
}

const factories: Array<[string, (clock: Clock) => KeyValueStore]> = [
  ['MemoryStore', (clock) => new MemoryStore(() => clock.now)],
  ['SqliteStore', (clock) => new SqliteStore({ path: join(tempDir(), 'kv.sqlite'), now: () => clock.now, sweepIntervalMs: 0 })],
  ['LocalFsStore', (clock) => new LocalFsStore({ dirPath: tempDir(), now: () => clock.now })],
  ['LocalJsonStore', (clock) => new LocalJsonStore({ fileDirPath: tempDir(), now: () => clock.now })],
];

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));

afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.each(factories)('%s contract', (_name, create) => {
  let store: KeyValueStore;
  let clock: Clock;
  const open = (): KeyValueStore => {
    clock = { now: 1_000_000 };
    store = create(clock);
    return store;
  };
  afterEach(async () => {
    await store.close();
  });

  test('absent key reads as undefined, set then get round-trips bytes', async () => {
    open();
    expect(await store.get('kbs', 'missing')).toBeUndefined();
    const value = new Uint8Array([0, 1, 2, 255, 10, 13]);
    expect(await store.set('kbs', 'a/b/c', value)).toBe(true);
    expect(await store.get('kbs', 'a/b/c')).toEqual(value);
  });

  test('empty value is stored and distinguished from absent', async () => {
    open();
    await store.set('kbs', 'empty', new Uint8Array());
    expect(await store.get('kbs', 'empty')).toEqual(new Uint8Array());
  });

  test('overwrite defaults to true; overwrite=false keeps the existing value', async () => {
    open();
    await store.set('kbs', 'k', bytes('one'));
    expect(await store.set('kbs', 'k', bytes('two'))).toBe(true);
    expect(text(await store.get('kbs', 'k'))).toBe('two');
    expect(await store.set('kbs', 'k', bytes('three'), { overwrite: false })).toBe(false);
    expect(text(await store.get('kbs', 'k'))).toBe('two');
    expect(await store.set('kbs', 'fresh', bytes('x'), { overwrite: false })).toBe(true);
    expect(text(await store.get('kbs', 'fresh'))).toBe('x');
  });

  test('namespaces are isolated', async () => {
    open();
    await store.set('kbs', 'k', bytes('kbs'));
    await store.set('repository', 'k', bytes('repo'));
    expect(text(await store.get('kbs', 'k'))).toBe('kbs');
    expect(text(await store.get('repository', 'k'))).toBe('repo');
    expect(await store.list('kbs')).toEqual(['k']);
    await store.delete('kbs', 'k');
    expect(text(await store.get('repository', 'k'))).toBe('repo');
  });

  test('delete reports whether the key existed', async () => {
    open();
    await store.set('kbs', 'k', bytes('v'));
    expect(await store.delete('kbs', 'k')).toBe(true);
    expect(await store.delete('kbs', 'k')).toBe(false);
    expect(await store.get('kbs', 'k')).toBeUndefined();
  });

  test('list is sorted and filtered by prefix', async () => {
    open();
    for (const key of ['b/2', 'a/1', 'b/1', 'c']) await store.set('repository', key, bytes(key));
    expect(await store.list('repository')).toEqual(['a/1', 'b/1', 'b/2', 'c']);
    expect(await store.list('repository', 'b/')).toEqual(['b/1', 'b/2']);
    expect(await store.list('repository', 'zzz')).toEqual([]);
    expect(await store.list('empty-namespace')).toEqual([]);
  });

  test('a key expires exactly at expiresAtMs and is then absent from get, list and delete', async () => {
    open();
    await store.set('kbs_protocol_session', 's1', bytes('v'), { expiresAtMs: clock.now + 100 });
    clock.now += 99;
    expect(text(await store.get('kbs_protocol_session', 's1'))).toBe('v');
    expect(await store.list('kbs_protocol_session')).toEqual(['s1']);
    clock.now += 1;
    expect(await store.get('kbs_protocol_session', 's1')).toBeUndefined();
    expect(await store.list('kbs_protocol_session')).toEqual([]);
    expect(await store.delete('kbs_protocol_session', 's1')).toBe(false);
  });

  test('an expired key counts as absent for overwrite=false', async () => {
    open();
    await store.set('kbs', 'k', bytes('old'), { expiresAtMs: clock.now + 10 });
    expect(await store.set('kbs', 'k', bytes('new'), { overwrite: false })).toBe(false);
    clock.now += 10;
    expect(await store.set('kbs', 'k', bytes('new'), { overwrite: false })).toBe(true);
    expect(text(await store.get('kbs', 'k'))).toBe('new');
  });

  test('overwriting without expiry clears a previous expiry', async () => {
    open();
    await store.set('kbs', 'k', bytes('old'), { expiresAtMs: clock.now + 10 });
    await store.set('kbs', 'k', bytes('new'));
    clock.now += 1000;
    expect(text(await store.get('kbs', 'k'))).toBe('new');
  });

  test('values are copies: mutating the input or output does not change the store', async () => {
    open();
    const value = bytes('abc');
    await store.set('kbs', 'k', value);
    value[0] = 0x7a;
    const read = await store.get('kbs', 'k');
    expect(text(read)).toBe('abc');
    if (read !== undefined) read[1] = 0x7a;
    expect(text(await store.get('kbs', 'k'))).toBe('abc');
  });

  test('concurrent overwrite=false writers: exactly one wins', async () => {
    open();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.set('kbs', 'race', bytes(String(i)), { overwrite: false })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(text(await store.get('kbs', 'race'))).toBe(String(winner));
  });

  test('a closed store refuses further use', async () => {
    open();
    await store.close();
    await expect(store.get('kbs', 'k')).rejects.toThrow();
    store = create(clock); // for afterEach
  });
});
