/**
 * Invariant: a PostgreSQL database or Redis keyspace written by upstream trustee is served by
 * our KBS (with its builtin AS and RVPS), and what our KBS writes reads back, raw, in
 * upstream's encodings:
 *
 * - layout: table per namespace `(value BYTEA, key TEXT PRIMARY KEY)`
 *   (upstream deployment/helm-chart/files/postgres-initkv.sql, upstream deps/key-value-storage/src/postgres/mod.rs);
 *   Redis string `{namespace}:{key}` (upstream deps/key-value-storage/src/redis/mod.rs)
 * - `repository/<repo>/<type>/<tag>`: the resource bytes as uploaded
 *   (upstream kbs/src/plugins/implementations/resource/kv_storage.rs)
 * - `kbs/resource-policy.rego` and `attestation_service_policy/<id>.rego`: the Rego text, UTF-8
 *   (upstream deps/policy-engine/src/lib.rs `set_policy`, suffix from upstream deps/policy-engine/src/policy/rego.rs)
 * - `reference_value/<name>`: serde JSON of `ReferenceValue` {version, name, expiration
 *   `%Y-%m-%dT%H:%M:%SZ`, value} (upstream rvps/src/reference_value.rs, upstream rvps/src/lib.rs)
 *
 * Runs against the real local servers (own database / key prefix per run).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresStore, RedisStore, type KeyValueStore } from '@trustee/storage';
import { createTestDatabase, createTestRedis, probePostgres, probeRedis, type TestDatabase, type TestRedis } from '@trustee/storage/testing/servers.ts';
import { composeKbs, type ComposedKbs } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';
import { ALLOW_ALL_RESOURCE_POLICY } from './resourcePolicy.ts';
import { Guest, policyBody, TEST_EAR_POLICY } from './testing/fixture.ts';

const postgres = await probePostgres('upstream storage interop (PostgreSQL)');
const redisServer = await probeRedis('upstream storage interop (Redis)');

/** Raw access to the backing server the way upstream's code reads and writes it. */
interface RawBackend {
  write(namespace: string, key: string, value: Uint8Array): Promise<void>;
  read(namespace: string, key: string): Promise<Buffer | undefined>;
  open(): KeyValueStore;
}

const UPSTREAM_NAMESPACES = ['kbs', 'repository', 'kbs_protocol_session', 'attestation_service_policy', 'reference_value'];

let database: TestDatabase | undefined;
let redis: TestRedis | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  if (postgres.available) {
    database = await createTestDatabase(postgres.url, 'kbs_interop');
    // Upstream's Helm chart init script, verbatim in shape: no expiry column.
    for (const namespace of UPSTREAM_NAMESPACES) await database.query(`CREATE TABLE IF NOT EXISTS ${namespace} (value BYTEA, key TEXT PRIMARY KEY)`);
  }
  if (redisServer.available) redis = await createTestRedis(redisServer.url);
});

afterAll(async () => {
  await database?.drop();
  await redis?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const backends: Array<[string, boolean, () => RawBackend]> = [
  ['PostgreSQL', postgres.available, () => {
    if (database === undefined) throw new Error('no test database');
    const db = database;
    return {
      // Upstream's own statements (upstream deps/key-value-storage/src/postgres/mod.rs).
      async write(namespace, key, value) {
        await db.query(`INSERT INTO ${namespace} (key, value) VALUES ( $1, $2 ) ON CONFLICT (key) DO UPDATE SET value = $2`, [key, Buffer.from(value)]);
      },
      async read(namespace, key) {
        const result = await db.query<{ value: Buffer }>(`SELECT (value) FROM ${namespace} WHERE key = $1`, [key]);
        return result.rows[0]?.value;
      },
      open: () => new PostgresStore({ url: db.url }),
    };
  }],
  ['Redis', redisServer.available, () => {
    if (redis === undefined || !redisServer.available) throw new Error('no test Redis');
    const { client, prefix } = redis;
    const url = redisServer.url;
    return {
      // Upstream: SET / GET on `{namespace}:{key}` (our prefix only isolates this test run).
      async write(namespace, key, value) {
        await client.set(`${prefix}${namespace}:${key}`, Buffer.from(value));
      },
      async read(namespace, key) {
        return (await client.getBuffer(`${prefix}${namespace}:${key}`)) ?? undefined;
      },
      open: () => new RedisStore({ url, keyPrefix: prefix }),
    };
  }],
];

const encoder = new TextEncoder();
const UPSTREAM_SECRET = 'secret written by upstream trustee \u00e9\u2603';
const REFERENCE_EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

async function startKbs(store: KeyValueStore): Promise<{ kbs: ComposedKbs; app: FastifyInstance; admin: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-interop-'));
  dirs.push(dir);
  const paths = await prepareDevEnvironment(dir);
  const kbs = await composeKbs(parseKbsConfig(parseToml(devConfigToml(paths))), { store });
  const app = kbs.apps[0];
  if (app === undefined) throw new Error('no app');
  return { kbs, app, admin: { authorization: `Bearer ${readFileSync(paths.adminToken, 'utf8').trim()}` } };
}

describe.each(backends)('%s written by upstream is served, and our writes read back in upstream encodings', (_name, available, backend) => {
  test.runIf(available)('upstream → trustee-ts: resource, resource policy, attestation policy and reference value are served', async () => {
    const raw = backend();
    await raw.write('repository', 'default/key/interop', encoder.encode(UPSTREAM_SECRET));
    await raw.write('kbs', 'resource-policy.rego', encoder.encode(ALLOW_ALL_RESOURCE_POLICY));
    await raw.write('attestation_service_policy', 'default_cpu.rego', encoder.encode(TEST_EAR_POLICY));
    const record = { version: '0.1.0', name: 'interop-svn', expiration: '2099-01-01T00:00:00Z', value: ['7'] };
    await raw.write('reference_value', 'interop-svn', encoder.encode(JSON.stringify(record)));

    const store = raw.open();
    const { kbs, app, admin } = await startKbs(store);
    try {
      // The defaults installed at start do not replace what upstream stored.
      expect((await raw.read('kbs', 'resource-policy.rego'))?.toString('utf8')).toBe(ALLOW_ALL_RESOURCE_POLICY);
      expect((await raw.read('attestation_service_policy', 'default_cpu.rego'))?.toString('utf8')).toBe(TEST_EAR_POLICY);

      // A guest attests (appraised by upstream's stored default_cpu) and gets upstream's secret
      // under upstream's allow-all resource policy.
      const guest = new Guest(app);
      await guest.rcar();
      const released = await guest.getResource('default/key/interop');
      expect(released.statusCode, released.body).toBe(200);
      expect(guest.decrypt(released)).toBe(UPSTREAM_SECRET);

      const listed = await app.inject({ method: 'GET', url: '/kbs/v0/resource-policy', headers: admin });
      expect(JSON.parse(listed.body)).toEqual(['resource-policy']);
      const reference = await app.inject({ method: 'GET', url: '/kbs/v0/reference-value/interop-svn', headers: admin });
      expect(reference.statusCode, reference.body).toBe(200);
      expect(JSON.parse(reference.body)).toEqual(['7']);
    } finally {
      await kbs.close();
      await store.close();
    }
  });

  test.runIf(available)('trustee-ts → upstream: admin writes land raw in upstream encodings', async () => {
    const raw = backend();
    const store = raw.open();
    const { kbs, app, admin } = await startKbs(store);
    try {
      const binary = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) % 256);
      const upload = await app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/ours', payload: Buffer.from(binary), headers: { ...admin, 'content-type': 'application/octet-stream' } });
      expect(upload.statusCode, upload.body).toBe(200);
      expect((await raw.read('repository', 'default/key/ours'))?.equals(binary)).toBe(true);

      const policy = `package policy\n\ndefault allow := false\n`;
      const setPolicy = await app.inject({ method: 'POST', url: '/kbs/v0/resource-policy', payload: policyBody(policy), headers: { ...admin, 'content-type': 'application/json' } });
      expect(setPolicy.statusCode, setPolicy.body).toBe(200);
      expect((await raw.read('kbs', 'resource-policy.rego'))?.toString('utf8')).toBe(policy);

      const body = JSON.parse(policyBody(TEST_EAR_POLICY)) as { policy: string };
      const setAttestation = await app.inject({
        method: 'POST',
        url: '/kbs/v0/attestation-policy',
        payload: JSON.stringify({ policy_id: 'interop_cpu', type: 'rego', policy: body.policy }),
        headers: { ...admin, 'content-type': 'application/json' },
      });
      expect(setAttestation.statusCode, setAttestation.body).toBe(200);
      expect((await raw.read('attestation_service_policy', 'interop_cpu.rego'))?.toString('utf8')).toBe(TEST_EAR_POLICY);

      const message = { version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ 'ours-svn': ['2'] })).toString('base64') };
      const register = await app.inject({ method: 'POST', url: '/kbs/v0/reference-value', payload: JSON.stringify(message), headers: { ...admin, 'content-type': 'application/json' } });
      expect(register.statusCode, register.body).toBe(200);
      const stored = (await raw.read('reference_value', 'ours-svn'))?.toString('utf8') ?? '';
      // serde's field order and chrono's second-precision UTC form, exactly.
      expect(stored).toMatch(/^\{"version":"0\.1\.0","name":"ours-svn","expiration":"[^"]+","value":\["2"\]\}$/);
      expect((JSON.parse(stored) as { expiration: string }).expiration).toMatch(REFERENCE_EXPIRATION);
    } finally {
      await kbs.close();
      await store.close();
    }
  });
});
