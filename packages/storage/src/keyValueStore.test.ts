/**
 * Invariant: every KeyValueStore backend behaves the same to its callers — absent keys read as
 * undefined, overwrite=false never replaces a live value and is an atomic claim (also across
 * two handles on one backing store, as replicas have), expired keys are absent everywhere,
 * namespaces are isolated, list is sorted and prefix-filtered, values are copied bytes of any
 * content and size.
 *
 * PostgreSQL and Redis run against the real local servers (a database / key prefix per run,
 * removed after); without them those two suites are skipped with one line (failed under CI=true).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { MAX_KEY_LENGTH, MAX_KEY_SLASHES } from './keyRules.ts';
import { setInOrder, type KeyValueStore } from './keyValueStore.ts';
import { LocalFsStore } from './localFsStore.ts';
import { LocalJsonStore } from './localJsonStore.ts';
import { MemoryStore } from './memoryStore.ts';
import { PostgresStore } from './postgresStore.ts';
import { RedisStore } from './redisStore.ts';
import { SqliteStore } from './sqliteStore.ts';
import { createTestDatabase, createTestRedis, probePostgres, probeRedis, type TestDatabase, type TestRedis } from './testing/servers.ts';

/**
 * The clock a store decides expiry with. Fake clocks move only when told (exact boundaries);
 * Redis expires keys by its own clock, so its fixture sleeps for real and allows `toleranceMs`.
 */
interface TestClock {
  now(): number;
  advance(ms: number): Promise<void>;
  readonly toleranceMs: number;
}

function fakeClock(): TestClock {
  let now = 1_000_000;
  return {
    now: () => now,
    advance: async (ms) => {
      now += ms;
    },
    toleranceMs: 0,
  };
}

function realClock(): TestClock {
  return { now: Date.now, advance: (ms) => sleep(ms), toleranceMs: 150 };
}

interface Fixture {
  readonly store: KeyValueStore;
  readonly clock: TestClock;
  /** A second handle on the same backing store (another replica), where the backend has one. */
  readonly openPeer?: () => KeyValueStore;
}

const directories: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kv-contract-'));
  directories.push(dir);
  return dir;
}

let database: TestDatabase | undefined;
let redis: TestRedis | undefined;
let redisRun = 0;
const postgres = await probePostgres('KeyValueStore contract (PostgreSQL)');
const redisServer = await probeRedis('KeyValueStore contract (Redis)');

beforeAll(async () => {
  if (postgres.available) database = await createTestDatabase(postgres.url, 'kv_contract');
  if (redisServer.available) redis = await createTestRedis(redisServer.url);
});

afterAll(async () => {
  await database?.drop();
  await redis?.drop();
});

const factories: Array<[string, boolean, () => Promise<Fixture>]> = [
  ['MemoryStore', true, async () => {
    const clock = fakeClock();
    return { store: new MemoryStore(clock.now), clock };
  }],
  ['SqliteStore', true, async () => {
    const clock = fakeClock();
    const path = join(tempDir(), 'kv.sqlite');
    const open = (): KeyValueStore => new SqliteStore({ path, now: clock.now, sweepIntervalMs: 0 });
    return { store: open(), clock, openPeer: open };
  }],
  ['LocalFsStore', true, async () => {
    const clock = fakeClock();
    const dirPath = tempDir();
    const open = (): KeyValueStore => new LocalFsStore({ dirPath, now: clock.now });
    return { store: open(), clock, openPeer: open };
  }],
  ['LocalJsonStore', true, async () => {
    const clock = fakeClock();
    return { store: new LocalJsonStore({ fileDirPath: tempDir(), now: clock.now }), clock };
  }],
  ['PostgresStore', postgres.available, async () => {
    if (database === undefined) throw new Error('no test database');
    await database.reset();
    const clock = fakeClock();
    const url = database.url;
    const open = (): KeyValueStore => new PostgresStore({ url, now: clock.now, sweepIntervalMs: 0 });
    return { store: open(), clock, openPeer: open };
  }],
  ['RedisStore', redisServer.available, async () => {
    if (redis === undefined || !redisServer.available) throw new Error('no test Redis');
    redisRun += 1;
    const keyPrefix = `${redis.prefix}${redisRun}:`;
    const clock = realClock();
    const url = redisServer.url;
    const open = (): KeyValueStore => new RedisStore({ url, keyPrefix, now: clock.now });
    return { store: open(), clock, openPeer: open };
  }],
];

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));

afterEach(() => {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.each(factories)('%s contract', (_name, available, create) => {
  const opened: KeyValueStore[] = [];
  let store: KeyValueStore;
  let clock: TestClock;
  let fixture: Fixture;
  const open = async (): Promise<KeyValueStore> => {
    fixture = await create();
    store = fixture.store;
    clock = fixture.clock;
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const handle of opened.splice(0)) await handle.close();
  });

  test.runIf(available)('absent key reads as undefined, set then get round-trips bytes', async () => {
    await open();
    expect(await store.get('kbs', 'missing')).toBeUndefined();
    const value = new Uint8Array([0, 1, 2, 255, 10, 13]);
    expect(await store.set('kbs', 'a/b/c', value)).toBe(true);
    expect(await store.get('kbs', 'a/b/c')).toEqual(value);
  });

  test.runIf(available)('every byte value and a 4 MiB value round-trip unchanged', async () => {
    await open();
    const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    await store.set('repository', 'default/bin/all', all);
    expect(await store.get('repository', 'default/bin/all')).toEqual(all);
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 7919) % 251;
    await store.set('repository', 'default/bin/big', big);
    const read = await store.get('repository', 'default/bin/big');
    // Compared as buffers: a deep equality over 4 Mi elements would take minutes.
    expect(read?.byteLength).toBe(big.byteLength);
    expect(Buffer.from(read ?? []).equals(big)).toBe(true);
  });

  test.runIf(available)('one key-size limit: 200 characters with up to 13 "/" are stored, longer keys refused (invalid_key)', async () => {
    await open();
    const fits = `${'a/'.repeat(MAX_KEY_SLASHES)}${'k'.repeat(MAX_KEY_LENGTH - 2 * MAX_KEY_SLASHES)}`;
    expect(fits.length).toBe(MAX_KEY_LENGTH);
    expect(await store.set('kbs', fits, bytes('v'))).toBe(true);
    expect(text(await store.get('kbs', fits))).toBe('v');
    await expect(store.set('kbs', `${fits}k`, bytes('v'))).rejects.toMatchObject({ code: 'invalid_key' });
    await expect(store.set('kbs', `a/${'k'.repeat(10)}${'/b'.repeat(MAX_KEY_SLASHES)}`, bytes('v'))).rejects.toMatchObject({ code: 'invalid_key' });
    await expect(store.set('kbs', 'k'.repeat(9000), bytes('v'))).rejects.toMatchObject({ code: 'invalid_key' });
    expect(await store.list('kbs')).toEqual([fits]);
  });

  test.runIf(available)('empty value is stored and distinguished from absent', async () => {
    await open();
    await store.set('kbs', 'empty', new Uint8Array());
    expect(await store.get('kbs', 'empty')).toEqual(new Uint8Array());
  });

  test.runIf(available)('overwrite defaults to true; overwrite=false keeps the existing value', async () => {
    await open();
    await store.set('kbs', 'k', bytes('one'));
    expect(await store.set('kbs', 'k', bytes('two'))).toBe(true);
    expect(text(await store.get('kbs', 'k'))).toBe('two');
    expect(await store.set('kbs', 'k', bytes('three'), { overwrite: false })).toBe(false);
    expect(text(await store.get('kbs', 'k'))).toBe('two');
    expect(await store.set('kbs', 'fresh', bytes('x'), { overwrite: false })).toBe(true);
    expect(text(await store.get('kbs', 'fresh'))).toBe('x');
  });

  test.runIf(available)('namespaces are isolated', async () => {
    await open();
    await store.set('kbs', 'k', bytes('kbs'));
    await store.set('repository', 'k', bytes('repo'));
    expect(text(await store.get('kbs', 'k'))).toBe('kbs');
    expect(text(await store.get('repository', 'k'))).toBe('repo');
    expect(await store.list('kbs')).toEqual(['k']);
    await store.delete('kbs', 'k');
    expect(text(await store.get('repository', 'k'))).toBe('repo');
  });

  test.runIf(available)('delete reports whether the key existed', async () => {
    await open();
    await store.set('kbs', 'k', bytes('v'));
    expect(await store.delete('kbs', 'k')).toBe(true);
    expect(await store.delete('kbs', 'k')).toBe(false);
    expect(await store.get('kbs', 'k')).toBeUndefined();
  });

  test.runIf(available)('list is sorted and filtered by prefix', async () => {
    await open();
    for (const key of ['b/2', 'a/1', 'b/1', 'c', 'B/0', 'b-x']) await store.set('repository', key, bytes(key));
    expect(await store.list('repository')).toEqual(['B/0', 'a/1', 'b-x', 'b/1', 'b/2', 'c']);
    expect(await store.list('repository', 'b/')).toEqual(['b/1', 'b/2']);
    expect(await store.list('repository', 'zzz')).toEqual([]);
    expect(await store.list('empty-namespace')).toEqual([]);
  });

  test.runIf(available)('a key expires exactly at expiresAtMs and is then absent from get, list and delete', async () => {
    await open();
    const tolerance = clock.toleranceMs;
    await store.set('kbs_protocol_session', 's1', bytes('v'), { expiresAtMs: clock.now() + 100 + tolerance });
    await clock.advance(99);
    expect(text(await store.get('kbs_protocol_session', 's1'))).toBe('v');
    expect(await store.list('kbs_protocol_session')).toEqual(['s1']);
    await clock.advance(1 + 2 * tolerance);
    expect(await store.get('kbs_protocol_session', 's1')).toBeUndefined();
    expect(await store.list('kbs_protocol_session')).toEqual([]);
    expect(await store.delete('kbs_protocol_session', 's1')).toBe(false);
  });

  test.runIf(available)('an expired key counts as absent for overwrite=false', async () => {
    await open();
    const tolerance = clock.toleranceMs;
    await store.set('kbs', 'k', bytes('old'), { expiresAtMs: clock.now() + 10 + tolerance });
    expect(await store.set('kbs', 'k', bytes('new'), { overwrite: false })).toBe(false);
    await clock.advance(10 + 2 * tolerance);
    expect(await store.set('kbs', 'k', bytes('new'), { overwrite: false })).toBe(true);
    expect(text(await store.get('kbs', 'k'))).toBe('new');
  });

  test.runIf(available)('a value written already expired reads as absent', async () => {
    await open();
    expect(await store.set('kbs', 'past', bytes('v'), { expiresAtMs: clock.now() - 1 })).toBe(true);
    expect(await store.get('kbs', 'past')).toBeUndefined();
    expect(await store.list('kbs')).toEqual([]);
  });

  test.runIf(available)('overwriting without expiry clears a previous expiry', async () => {
    await open();
    const tolerance = clock.toleranceMs;
    await store.set('kbs', 'k', bytes('old'), { expiresAtMs: clock.now() + 10 + tolerance });
    await store.set('kbs', 'k', bytes('new'));
    await clock.advance(10 + 2 * tolerance);
    expect(text(await store.get('kbs', 'k'))).toBe('new');
  });

  test.runIf(available)('values are copies: mutating the input or output does not change the store', async () => {
    await open();
    const value = bytes('abc');
    await store.set('kbs', 'k', value);
    value[0] = 0x7a;
    const read = await store.get('kbs', 'k');
    expect(text(read)).toBe('abc');
    if (read !== undefined) read[1] = 0x7a;
    expect(text(await store.get('kbs', 'k'))).toBe('abc');
  });

  test.runIf(available)('50 concurrent overwrite=false claims: exactly one wins', async () => {
    await open();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.set('kbs_protocol_session', 'race.claim', bytes(String(i)), { overwrite: false })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(text(await store.get('kbs_protocol_session', 'race.claim'))).toBe(String(winner));
  });

  test.runIf(available)('50 concurrent claims split over two handles on one store (two replicas): exactly one wins', async (context) => {
    await open();
    if (fixture.openPeer === undefined) {
      context.skip('this backend has no second handle on the same data (in-process only)');
      return;
    }
    const peer = fixture.openPeer();
    opened.push(peer);
    const handles = [store, peer];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (handles[i % 2] as KeyValueStore).set('kbs_protocol_session', 'replica.claim', bytes(String(i)), { overwrite: false })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(text(await peer.get('kbs_protocol_session', 'replica.claim'))).toBe(String(results.indexOf(true)));
  });

  test.runIf(available)('setInOrder applies writes in order and stops at the first refused create (it and later writes are not applied)', async () => {
    await open();
    await store.set('kbs_audit', 'record/2', bytes('theirs'));
    const writes = [
      { namespace: 'kbs_audit', key: 'record/1', value: bytes('one'), overwrite: false },
      { namespace: 'kbs', key: 'hint', value: bytes('h1') },
      { namespace: 'kbs_audit', key: 'record/2', value: bytes('mine'), overwrite: false },
      { namespace: 'kbs_audit', key: 'record/3', value: bytes('three'), overwrite: false },
      { namespace: 'kbs', key: 'hint', value: bytes('h3') },
    ];
    expect(await setInOrder(store, writes)).toBe(2);
    expect(text(await store.get('kbs_audit', 'record/1'))).toBe('one');
    expect(text(await store.get('kbs_audit', 'record/2'))).toBe('theirs');
    expect(await store.get('kbs_audit', 'record/3')).toBeUndefined();
    expect(text(await store.get('kbs', 'hint'))).toBe('h1');
    expect(await setInOrder(store, writes.slice(3))).toBe(2);
    expect(text(await store.get('kbs', 'hint'))).toBe('h3');
    expect(await setInOrder(store, [])).toBe(0);
  });

  test.runIf(available)('two handles racing setInOrder chains over the same keys never both create one key', async (context) => {
    await open();
    if (fixture.openPeer === undefined) {
      context.skip('this backend has no second handle on the same data (in-process only)');
      return;
    }
    const peer = fixture.openPeer();
    opened.push(peer);
    const chain = (who: string): Array<{ namespace: string; key: string; value: Uint8Array; overwrite: false }> =>
      Array.from({ length: 8 }, (_, i) => ({ namespace: 'kbs_audit', key: `record/${i}`, value: bytes(who), overwrite: false as const }));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => setInOrder(i % 2 === 0 ? store : peer, chain(`w${i}`))));
    // Every key was created exactly once, and each writer's created keys are one prefix of the chain.
    const owners = await Promise.all(Array.from({ length: 8 }, async (_, i) => text(await peer.get('kbs_audit', `record/${i}`))));
    for (const [i, applied] of results.entries()) {
      const mine = owners.map((owner, key) => (owner === `w${i}` ? key : -1)).filter((key) => key >= 0);
      expect(mine).toEqual(Array.from({ length: applied }, (_, key) => key));
    }
    expect(results.reduce((sum, applied) => sum + applied, 0)).toBe(8);
  });

  test.runIf(available)('ping resolves on an open store', async () => {
    await open();
    await expect(store.ping()).resolves.toBeUndefined();
  });

  test.runIf(available)('a closed store refuses further use', async () => {
    await open();
    await store.close();
    await expect(store.get('kbs', 'k')).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
  });
});
