import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, PostgresStore, RedisStore, SqliteStore, type KeyValueStore } from '@trustee/storage';
import { createTestDatabase, createTestRedis, probePostgres, probeRedis, TEST_REDIS_URL } from '@trustee/storage/testing/servers.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCheckpointKeyPem, loadCheckpointSigner, publicKeyFromPem } from './checkpointSigner.ts';
import { AUDIT_NAMESPACE, GENESIS, recordKey, type AuditEntry, type AuditRecord } from './record.ts';
import { AuditTrail, exportTrail, pruneTrail, verifyTrail } from './trail.ts';

const SUITE = 'audit trail';
const postgres = await probePostgres(SUITE);
const redis = await probeRedis(SUITE);

const entry = (n: number): AuditEntry => ({ kind: 'release', decision: `d-${n}`, outcome: 'allow', resource: `default/key/k${n}`, tee: 'sample', policies: [{ id: 'resource-policy', hash: 'ab'.repeat(32) }] });

async function fill(trail: AuditTrail, count: number): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for (let i = 1; i <= count; i++) records.push(await trail.append(entry(i)));
  return records;
}

async function rawRecord(store: KeyValueStore, seq: number): Promise<Record<string, unknown>> {
  const bytes = await store.get(AUDIT_NAMESPACE, recordKey(seq));
  if (bytes === undefined) throw new Error(`no record ${seq}`);
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

async function putRaw(store: KeyValueStore, seq: number, value: unknown): Promise<void> {
  await store.set(AUDIT_NAMESPACE, recordKey(seq), new TextEncoder().encode(JSON.stringify(value)));
}

describe('audit chain on a memory store', () => {
  it('chains records by hash from the genesis and verifies', async () => {
    const store = new MemoryStore();
    const trail = new AuditTrail(store, { replica: 'r1' });
    const records = await fill(trail, 5);
    expect(records.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]?.prev).toBe(GENESIS);
    expect(records[1]?.prev).toBe(records[0]?.hash);
    expect(await verifyTrail(store)).toMatchObject({ ok: true, records: 5, first: 1, last: 5 });
  });

  it('never stores fields outside the record schema (no token, no value)', async () => {
    const store = new MemoryStore();
    const trail = new AuditTrail(store, { replica: 'r1' });
    const hostile = { ...entry(1), token: 'eyJsecret', value: 'top secret', admin: { role: 'admin', token: 'abc' } } as unknown as AuditEntry;
    await trail.append(hostile);
    const text = JSON.stringify(await rawRecord(store, 1));
    expect(text).not.toContain('eyJsecret');
    expect(text).not.toContain('top secret');
    expect(text).not.toContain('"token"');
  });

  it('names a single edited record', async () => {
    const store = new MemoryStore();
    await fill(new AuditTrail(store), 6);
    const record = await rawRecord(store, 4);
    await putRaw(store, 4, { ...record, outcome: 'deny' });
    expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { seq: 4, problem: expect.stringContaining('edited') } });
  });

  it('names an edited record whose hash was recomputed (the next one no longer chains)', async () => {
    const store = new MemoryStore();
    await fill(new AuditTrail(store), 6);
    const { hash: _hash, ...rest } = await rawRecord(store, 3);
    const { hashRecord } = await import('./record.ts');
    const forged = { ...rest, resource: 'default/key/other' };
    await putRaw(store, 3, { ...forged, hash: hashRecord(forged as unknown as Parameters<typeof hashRecord>[0]) });
    expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { seq: 4, problem: expect.stringContaining('does not chain') } });
  });

  it('names a single deleted record, in the middle and at the end', async () => {
    const store = new MemoryStore();
    await fill(new AuditTrail(store), 6);
    await store.delete(AUDIT_NAMESPACE, recordKey(3));
    expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { seq: 3, problem: expect.stringContaining('missing') } });
    const tail = new MemoryStore();
    await fill(new AuditTrail(tail), 6);
    await tail.delete(AUDIT_NAMESPACE, recordKey(6));
    expect(await verifyTrail(tail)).toMatchObject({ ok: false, problem: { seq: 6, problem: expect.stringContaining('missing') } });
  });

  it('names two reordered records', async () => {
    const store = new MemoryStore();
    await fill(new AuditTrail(store), 6);
    const a = await rawRecord(store, 2);
    const b = await rawRecord(store, 3);
    await putRaw(store, 2, b);
    await putRaw(store, 3, a);
    expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { seq: 2, problem: expect.stringContaining('reordered') } });
  });

  it('prunes behind a signed checkpoint; verify checks the signature and the pinned key', async () => {
    const store = new MemoryStore();
    const pem = generateCheckpointKeyPem();
    const dir = mkdtempSync(join(tmpdir(), 'audit-key-'));
    const keyPath = join(dir, 'audit-key.pem');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(keyPath, pem);
    try {
      const signer = () => loadCheckpointSigner({ keyPath, store });
      const trail = new AuditTrail(store, { maxRecords: 20, signer });
      await fill(trail, 60);
      await trail.flush();
      const report = await verifyTrail(store, { trustedPublicKey: publicKeyFromPem(pem) });
      expect(report.ok).toBe(true);
      expect(report.checkpoint).toBeDefined();
      // Bounded: at most maxRecords plus two prune intervals (a prune runs beside the appends).
      expect(report.records).toBeGreaterThanOrEqual(20);
      expect(report.records).toBeLessThanOrEqual(40);
      expect(await store.get(AUDIT_NAMESPACE, recordKey(1))).toBeUndefined();
      // Another key: refused when pinned.
      expect(await verifyTrail(store, { trustedPublicKey: publicKeyFromPem(generateCheckpointKeyPem()) })).toMatchObject({ ok: false, problem: { problem: expect.stringContaining('not by the trusted key') } });
      // A forged checkpoint (moved forward, signature not redone).
      const { pruned, checkpoint } = await pruneTrail(store, { keep: 5, signer, replica: 'cli' });
      expect(pruned).toBeGreaterThan(0);
      if (checkpoint === undefined) throw new Error('no checkpoint');
      const { checkpointKey } = await import('./record.ts');
      await store.set(AUDIT_NAMESPACE, checkpointKey(checkpoint.next + 1), new TextEncoder().encode(JSON.stringify({ ...checkpoint, next: checkpoint.next + 1 })));
      expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { problem: expect.stringContaining('signature does not verify') } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the first record after a checkpoint must chain to it', async () => {
    const store = new MemoryStore();
    const signer = () => loadCheckpointSigner({ store });
    await fill(new AuditTrail(store), 10);
    await pruneTrail(store, { keep: 4, signer, replica: 'cli' });
    expect(await verifyTrail(store)).toMatchObject({ ok: true, records: 4, first: 7, last: 10 });
    await store.delete(AUDIT_NAMESPACE, recordKey(7));
    expect(await verifyTrail(store)).toMatchObject({ ok: false, problem: { seq: 7 } });
  });

  it('exports records since a time as records, oldest first', async () => {
    const store = new MemoryStore();
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const trail = new AuditTrail(store, { now: () => clock });
    for (let i = 1; i <= 4; i++) {
      await trail.append(entry(i));
      clock += 60_000;
    }
    const exported: AuditRecord[] = [];
    for await (const record of exportTrail(store, Date.parse('2026-01-01T00:02:00Z'))) exported.push(record);
    expect(exported.map((record) => record.seq)).toEqual([3, 4]);
  });

  it('bounds the queue: beyond maxPending an entry is dropped and reported', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const trail = new AuditTrail(store, { maxPending: 2, onError: (error) => errors.push(error) });
    const results = await Promise.allSettled([trail.append(entry(1)), trail.append(entry(2)), trail.append(entry(3))]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(trail.stats.dropped).toBe(1);
    expect(await verifyTrail(store)).toMatchObject({ ok: true, records: 2 });
  });
});

describe('group-committed appends', () => {
  it('appends queued together are written as batches, resolve with their own records, in order', async () => {
    const store = new MemoryStore();
    let batches = 0;
    const setBatch = async (writes: Parameters<NonNullable<KeyValueStore['setBatch']>>[0]): Promise<number> => {
      batches++;
      let applied = 0;
      for (const write of writes) {
        if (!(await store.set(write.namespace, write.key, write.value, write.overwrite === false ? { overwrite: false } : {}))) break;
        applied++;
      }
      return applied;
    };
    const batching: KeyValueStore = {
      get: (namespace, key) => store.get(namespace, key),
      set: (namespace, key, value, options) => store.set(namespace, key, value, options),
      delete: (namespace, key) => store.delete(namespace, key),
      list: (namespace, prefix) => store.list(namespace, prefix),
      ping: () => store.ping(),
      close: () => store.close(),
      setBatch,
    };
    const trail = new AuditTrail(batching, { replica: 'r' });
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => trail.append(entry(i))));
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records.map((record) => record.decision)).toEqual(Array.from({ length: 50 }, (_, i) => `d-${i}`));
    expect(batches).toBeLessThan(5);
    expect(await verifyTrail(store)).toMatchObject({ ok: true, records: 50 });
    expect(trail.stats).toEqual({ appended: 50, dropped: 0, pending: 0 });
  });

  it('a batch that meets another replica\'s records mid-way chains the rest onto them', async () => {
    const store = new MemoryStore();
    const a = new AuditTrail(store, { replica: 'a' });
    const b = new AuditTrail(store, { replica: 'b' });
    await a.append(entry(0)); // a knows head 1
    await Promise.all(Array.from({ length: 5 }, (_, i) => b.append(entry(10 + i)))); // b writes 2..6
    const late = await Promise.all(Array.from({ length: 5 }, (_, i) => a.append(entry(20 + i))));
    expect(late.map((record) => record.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(await verifyTrail(store)).toMatchObject({ ok: true, records: 11 });
  });
});

/** Two trails (two replicas) on separate connections to one store, appending at once. */
async function raceTwoReplicas(open: () => KeyValueStore): Promise<void> {
  const a = open();
  const b = open();
  const check = open();
  try {
    const trailA = new AuditTrail(a, { replica: 'a' });
    const trailB = new AuditTrail(b, { replica: 'b' });
    await Promise.all([...Array.from({ length: 40 }, (_, i) => trailA.append(entry(i))), ...Array.from({ length: 40 }, (_, i) => trailB.append(entry(100 + i)))]);
    const report = await verifyTrail(check);
    expect(report).toMatchObject({ ok: true, records: 80, first: 1, last: 80 });
    const replicas = new Set<string>();
    for (let seq = 1; seq <= 80; seq++) replicas.add(String((await rawRecord(check, seq))['replica']));
    expect(replicas).toEqual(new Set(['a', 'b']));
  } finally {
    await Promise.all([a.close(), b.close(), check.close()]);
  }
}

describe('two replicas on one store never fork the chain', () => {
  it('SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-sqlite-'));
    try {
      await raceTwoReplicas(() => new SqliteStore({ path: join(dir, 'kbs.sqlite') }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SQLite file, two OS processes appending batches at once', async () => {
    const { spawn } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'audit-sqlite-procs-'));
    const path = join(dir, 'kbs.audit.sqlite');
    const storage = new URL('../../../../packages/storage/src/index.ts', import.meta.url).href;
    const trailUrl = new URL('./trail.ts', import.meta.url).href;
    const script = (replica: string, at: number): string =>
      `const { SqliteStore } = await import(${JSON.stringify(storage)});
       const { AuditTrail } = await import(${JSON.stringify(trailUrl)});
       const store = new SqliteStore({ path: ${JSON.stringify(path)}, sweepIntervalMs: 0, synchronous: 'NORMAL' });
       const trail = new AuditTrail(store, { replica: ${JSON.stringify(replica)} });
       while (Date.now() < ${at}) {}
       for (let round = 0; round < 20; round++) {
         await Promise.all(Array.from({ length: 10 }, (_, i) => trail.append({ kind: 'release', decision: 'd-' + round + '-' + i, outcome: 'allow' })));
       }
       await store.close();`;
    try {
      new SqliteStore({ path, sweepIntervalMs: 0 }).close();
      const at = Date.now() + 2500;
      const results = await Promise.all(
        ['p', 'q'].map(
          (replica) =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(replica, at)]);
              let stderr = '';
              child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
              child.on('exit', (code) => resolve({ code, stderr }));
            }),
        ),
      );
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const check = new SqliteStore({ path, sweepIntervalMs: 0 });
      expect(await verifyTrail(check)).toMatchObject({ ok: true, records: 400, first: 1, last: 400 });
      const replicas = new Set<string>();
      for (let seq = 1; seq <= 400; seq++) replicas.add(String((await rawRecord(check, seq))['replica']));
      expect(replicas).toEqual(new Set(['p', 'q']));
      await check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe.skipIf(!postgres.available)('PostgreSQL', () => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    it('80 concurrent appends from two connections form one chain', async () => {
      const database = await createTestDatabase(undefined, 'trustee_audit');
      drop = () => database.drop();
      await raceTwoReplicas(() => new PostgresStore({ url: database.url, sweepIntervalMs: 0 }));
    });
  });

  describe.skipIf(!redis.available)('Redis', () => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    it('80 concurrent appends from two connections form one chain', async () => {
      const server = await createTestRedis();
      drop = () => server.drop();
      await raceTwoReplicas(() => new RedisStore({ url: TEST_REDIS_URL, keyPrefix: server.prefix }));
    });
  });
});

describe("a failed append is reported to the appender's own reporter", () => {
  it("goes to the reporter given with the entry (the request's logger), not the trail's", async () => {
    const store = new MemoryStore();
    const down: KeyValueStore = {
      get: (namespace, key) => store.get(namespace, key),
      set: async () => {
        throw new Error('audit store down');
      },
      delete: (namespace, key) => store.delete(namespace, key),
      list: (namespace, prefix) => store.list(namespace, prefix),
      ping: () => store.ping(),
      close: () => store.close(),
    };
    const trailErrors: unknown[] = [];
    const requestErrors: string[] = [];
    const trail = new AuditTrail(down, { onError: (error) => trailErrors.push(error) });
    const [withReporter, without] = await Promise.allSettled([
      trail.append(entry(1), (error, failed) => requestErrors.push(`${failed.decision}: ${(error as Error).message}`)),
      trail.append(entry(2)),
    ]);
    expect([withReporter.status, without.status]).toEqual(['rejected', 'rejected']);
    expect(requestErrors).toEqual([`${entry(1).decision}: audit store down`]);
    expect(trailErrors).toHaveLength(1);
  });
});
