/**
 * Invariant: an RVPS configured from an upstream-format `rvps.json` with `Postgres` or `Redis`
 * storage keeps its reference values on that server, in upstream's layout and encoding
 * (`reference_value` table / `reference_value:{name}` key, `ReferenceValue` JSON), so another
 * RVPS process on the same server — ours or upstream's — serves them.
 */
import { afterAll, expect, test } from 'vitest';
import { createTestDatabase, createTestRedis, probePostgres, probeRedis, uniqueName, type TestDatabase, type TestRedis } from '@trustee/storage/testing/servers.ts';
import { composeRvps } from './compose.ts';
import { parseRvpsConfig } from './config.ts';

const postgres = await probePostgres('RVPS on PostgreSQL');
const redisServer = await probeRedis('RVPS on Redis');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

// Unique per run: the Redis case writes upstream's unprefixed key on the shared server.
const NAME = uniqueName('rvps-backend-svn');
const message = JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ [NAME]: ['3'] })).toString('base64') });
const RECORD = new RegExp(`^\\{"version":"0\\.1\\.0","name":"${NAME}","expiration":"\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z","value":\\["3"\\]\\}$`);

test.runIf(postgres.available)('storage_type Postgres from rvps.json: values land in table reference_value and a second RVPS serves them', async () => {
  const database: TestDatabase = await createTestDatabase(undefined, 'rvps_backend');
  cleanups.push(() => database.drop());
  const url = new URL(database.url);
  const { config } = parseRvpsConfig({
    storage: { storage_type: 'Postgres', backends: { postgres: { host: url.hostname, port: Number(url.port), db: database.name, username: decodeURIComponent(url.username) } } },
  });
  const first = await composeRvps(config);
  await first.operations.register(message, undefined);
  await first.close();
  const raw = await database.query<{ value: Buffer }>('SELECT (value) FROM reference_value WHERE key = $1', [NAME]);
  expect(raw.rows[0]?.value.toString('utf8')).toMatch(RECORD);
  const second = await composeRvps(config);
  try {
    expect(await second.operations.query(NAME)).toEqual(['3']);
  } finally {
    await second.close();
  }
});

test.runIf(redisServer.available)('storage_type Redis from rvps.json: values land under reference_value:{name}', async () => {
  const redis: TestRedis = await createTestRedis();
  cleanups.push(() => redis.drop());
  // The store's key prefix is a test-only isolation knob; the config path is upstream's, so the
  // value is looked up where upstream puts it and removed afterwards.
  const { config } = parseRvpsConfig({ storage: { storage_type: 'Redis', backends: { redis: { url: redisServer.available ? redisServer.url : '' } } } });
  const rvps = await composeRvps(config);
  try {
    await rvps.operations.register(message, undefined);
    const raw = await redis.client.get(`reference_value:${NAME}`);
    expect(raw).toMatch(RECORD);
    expect(await rvps.operations.query(NAME)).toEqual(['3']);
  } finally {
    await redis.client.del(`reference_value:${NAME}`);
    await rvps.close();
  }
});
