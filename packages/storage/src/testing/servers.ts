/**
 * Test-only access to the real PostgreSQL and Redis servers every machine of this project runs
 * (127.0.0.1:5432 and 127.0.0.1:6379; override with TRUSTEE_TEST_POSTGRES_URL /
 * TRUSTEE_TEST_REDIS_URL). Each test run gets its own database or key prefix and removes it.
 *
 * Without a server, `probe*` prints one line saying the suite is skipped and why; under
 * `CI=true` it throws instead, so an unreachable server fails the run rather than hiding it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PostgresStore } from '../postgresStore.ts';
import { RedisStore } from '../redisStore.ts';

export const TEST_POSTGRES_URL = process.env['TRUSTEE_TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env['TRUSTEE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export type ServerProbe = { readonly available: true; readonly url: string } | { readonly available: false; readonly reason: string };

function unavailable(suite: string, what: string, url: string, error: unknown): ServerProbe {
  const reason = `${what} at ${new URL(url).host} is not reachable (${(error as Error).message})`;
  if (process.env['CI'] === 'true') throw new Error(`${suite}: ${reason}; CI=true requires it`);
  console.warn(`${suite}: skipped: ${reason}`);
  return { available: false, reason };
}

/** Whether the test PostgreSQL answers; see the module comment for skip/CI behaviour. */
export async function probePostgres(suite: string): Promise<ServerProbe> {
  const store = new PostgresStore({ url: TEST_POSTGRES_URL, timeoutMs: 2000, connectTimeoutMs: 2000, sweepIntervalMs: 0 });
  try {
    await store.ping();
    return { available: true, url: TEST_POSTGRES_URL };
  } catch (error) {
    return unavailable(suite, 'PostgreSQL', TEST_POSTGRES_URL, error);
  } finally {
    await store.close();
  }
}

/** Whether the test Redis answers; see the module comment for skip/CI behaviour. */
export async function probeRedis(suite: string): Promise<ServerProbe> {
  const store = new RedisStore({ url: TEST_REDIS_URL, timeoutMs: 2000, connectTimeoutMs: 2000 });
  try {
    await store.ping();
    return { available: true, url: TEST_REDIS_URL };
  } catch (error) {
    return unavailable(suite, 'Redis', TEST_REDIS_URL, error);
  } finally {
    await store.close();
  }
}

export function uniqueName(label: string): string {
  return `${label}_${process.pid}_${randomBytes(6).toString('hex')}`;
}

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  readonly url: string;
  readonly name: string;
  /** Drops every table (a fresh empty schema) without recreating the database. */
  reset(): Promise<void>;
  /** Runs SQL on the database as the test administrator (raw reads/writes for interop tests). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Drops the database (closing whatever still connects to it). */
  drop(): Promise<void>;
}

/** Creates a uniquely named database on the test server. */
export async function createTestDatabase(serverUrl: string = TEST_POSTGRES_URL, label = 'trustee_test'): Promise<TestDatabase> {
  const name = uniqueName(label).toLowerCase();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    name,
    async reset() {
      await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    },
    query: (text, values) => client.query(text, values),
    async drop() {
      await client.end();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export interface TestRedis {
  /** Prefix (`trustee_test_<pid>_<hex>:`) to give RedisStore as `keyPrefix`. */
  readonly prefix: string;
  /** A raw client for interop tests (upstream's commands on `{prefix}{namespace}:{key}`). */
  readonly client: Redis;
  /** Deletes every key under the prefix and closes the raw client. */
  drop(): Promise<void>;
}

export async function createTestRedis(url: string = TEST_REDIS_URL): Promise<TestRedis> {
  const prefix = `${uniqueName('trustee_test')}:`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    prefix,
    client,
    async drop() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await client.quit();
    },
  };
}
