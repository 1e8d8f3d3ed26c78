/**
 * Invariant: the cache serves a value for exactly its TTL (absence for the negative TTL, never
 * past a fetched `notAfterMs`), shares one fetch between concurrent misses, never lets a fetch
 * overtaken by a write enter the cache, and stays within `maxEntries`.
 */
import { describe, expect, test } from 'vitest';
import { ReadThroughCache, type Fetched } from './readThroughCache.ts';

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(policy: Partial<ConstructorParameters<typeof ReadThroughCache<string>>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const cache = new ReadThroughCache<string>({ ttlMs: 100, negativeTtlMs: 10, staleIfErrorMs: 0, ...policy }, () => clock.now);
  let calls = 0;
  const source = (value: string | undefined, notAfterMs?: number) => async (): Promise<Fetched<string>> => {
    calls += 1;
    return { value, ...(notAfterMs === undefined ? {} : { notAfterMs }) };
  };
  return { clock, cache, source, calls: () => calls };
}

describe('ReadThroughCache', () => {
  test('TTL boundaries for values and absences', async () => {
    const { clock, cache, source, calls } = setup();
    expect(await cache.get('k', source('a'))).toBe('a');
    clock.now += 99;
    expect(await cache.get('k', source('b'))).toBe('a');
    clock.now += 1;
    expect(await cache.get('k', source('b'))).toBe('b');
    expect(await cache.get('gone', source(undefined))).toBeUndefined();
    clock.now += 9;
    expect(await cache.get('gone', source('back'))).toBeUndefined();
    clock.now += 1;
    expect(await cache.get('gone', source('back'))).toBe('back');
    expect(calls()).toBe(4);
  });

  test('notAfterMs shortens the lifetime', async () => {
    const { clock, cache, source } = setup();
    expect(await cache.get('k', source('a', clock.now + 5))).toBe('a');
    clock.now += 5;
    expect(await cache.get('k', source('b'))).toBe('b');
  });

  test('concurrent misses share one fetch; a failure reaches every waiter and is not cached', async () => {
    const { cache } = setup();
    const gate = deferred<Fetched<string>>();
    let calls = 0;
    const fetch = (): Promise<Fetched<string>> => {
      calls += 1;
      return gate.promise;
    };
    const waiters = Array.from({ length: 10 }, () => cache.get('k', fetch));
    gate.reject(new Error('down'));
    for (const waiter of waiters) await expect(waiter).rejects.toThrow('down');
    expect(calls).toBe(1);
    expect(await cache.get('k', async () => ({ value: 'up' }))).toBe('up');
  });

  test('a write overtaking an in-flight fetch wins; later reads do not join the stale fetch', async () => {
    const { cache, source } = setup();
    const gate = deferred<Fetched<string>>();
    const early = cache.get('k', () => gate.promise);
    cache.put('k', { value: 'written' });
    expect(await cache.get('k', source('fetched'))).toBe('written');
    gate.resolve({ value: 'old' });
    expect(await early).toBe('old');
    expect(await cache.get('k', source('fetched'))).toBe('written');
  });

  test('stale-if-error: served until TTL + window, then the error', async () => {
    const { clock, cache, source } = setup({ staleIfErrorMs: 50 });
    await cache.get('k', source('a'));
    const failing = async (): Promise<Fetched<string>> => {
      throw new Error('down');
    };
    clock.now += 149;
    expect(await cache.get('k', failing)).toBe('a');
    clock.now += 1;
    await expect(cache.get('k', failing)).rejects.toThrow('down');
  });

  test('at most maxEntries keys, oldest evicted first', async () => {
    const { cache, source, calls } = setup({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) await cache.get(key, source(key));
    expect(cache.size).toBe(3);
    await cache.get('d', source('d'));
    await cache.get('b', source('b'));
    expect(calls()).toBe(4);
    await cache.get('a', source('a'));
    expect(calls()).toBe(5);
  });
});
