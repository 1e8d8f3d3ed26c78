import { MemoryStore } from '@trustee/storage';
import { expect, test } from 'vitest';
import { DECISION_NAMESPACE, DecisionLog, MAX_RECORD_BYTES, PRUNE_EVERY } from './decisions.ts';

const request = { plugin: 'resource', path: ['default', 'key', 'k'], query: { a: 'b' } };

test('a stored record is exactly the JSON of the record (claims serialised once, same bytes)', async () => {
  const now = (): number => 1_700_000_000_000;
  const store = new MemoryStore(now);
  const log = new DecisionLog(store, now);
  const claims = { submods: { cpu0: { 'ear.status': 'affirming', nested: [1, 'two', { three: null }] } }, 'unicode é ✓': '"quoted"\n' };
  const record = log.build(request, claims, true, [{ policy: 'resource-policy', result: true }]);
  await log.store(record);
  const stored = new TextDecoder().decode(await store.get(DECISION_NAMESPACE, record.id));
  expect(stored).toBe(JSON.stringify(record));
  expect(await log.get(record.id)).toEqual(record);
});

test('claims over the bound are dropped from the record, which says so', async () => {
  const store = new MemoryStore();
  const log = new DecisionLog(store);
  const record = log.build(request, { big: 'x'.repeat(MAX_RECORD_BYTES) }, false, [{ policy: 'resource-policy', result: false }]);
  expect(record.claims).toBeUndefined();
  expect(record.claimsDropped).toBe(true);
  await log.store(record);
  expect(new TextDecoder().decode(await store.get(DECISION_NAMESPACE, record.id))).toBe(JSON.stringify(record));
});

test('prune keeps the newest records and deletes the rest', async () => {
  let now = 1_700_000_000_000;
  const store = new MemoryStore(() => now);
  const log = new DecisionLog(store, () => now, 300);
  const ids: string[] = [];
  for (let i = 0; i < 700; i++) {
    now += 1;
    const record = log.build(request, { i }, true, [{ policy: 'resource-policy', result: true }]);
    ids.push(record.id);
    await store.set(DECISION_NAMESPACE, record.id, new TextEncoder().encode(JSON.stringify(record)));
  }
  expect(await log.prune()).toBe(400);
  expect(await log.recentIds(1000)).toEqual(ids.slice(400).reverse());
});

test('storing alone keeps the log bounded: at most keep + PRUNE_EVERY records per process', async () => {
  let now = 1_700_000_000_000;
  const store = new MemoryStore(() => now);
  const keep = 50;
  const log = new DecisionLog(store, () => now, keep);
  for (let i = 0; i < 3 * PRUNE_EVERY + 7; i++) {
    now += 1;
    await log.store(log.build(request, { i }, true, [{ policy: 'resource-policy', result: true }]));
    expect((await store.list(DECISION_NAMESPACE)).length).toBeLessThanOrEqual(keep + PRUNE_EVERY);
  }
  // The last prune (at write 3 × PRUNE_EVERY) left `keep`; 7 more were written since.
  expect((await store.list(DECISION_NAMESPACE)).length).toBe(keep + 7);
});
