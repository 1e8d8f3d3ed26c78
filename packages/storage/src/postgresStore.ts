import { createRequire } from 'node:module';
import type pg from 'pg';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { assertValidKey, assertValidNamespace } from './keyRules.ts';
import { StorageError } from './storageError.ts';

export interface PostgresStoreOptions {
  /**
   * libpq-style URL (`postgresql://user:password@host:port/db?sslmode=verify-full&sslrootcert=ca.pem`),
   * parsed by node-postgres (`pg-connection-string`): `sslmode`, `sslrootcert`, `sslcert`,
   * `sslkey` and `application_name` are honoured.
   */
  readonly url: string;
  /** Clock for expiry decisions (ms since the epoch). */
  readonly now?: () => number;
  /** How often expired rows are deleted; 0 disables the sweeper. Default 60 s (upstream's session sweep). */
  readonly sweepIntervalMs?: number;
  /** Bound on every call: waiting for a connection, then the query itself. Default 5 s. */
  readonly timeoutMs?: number;
  /** Bound on opening one connection (TCP, TLS, startup). Default 3 s. */
  readonly connectTimeoutMs?: number;
  /** Pool size. Default 10 (upstream uses 5 per namespace; we share one pool across namespaces). */
  readonly maxConnections?: number;
}

/** Postgres identifiers are at most 63 bytes (NAMEDATALEN - 1); longer names would be truncated silently. */
const MAX_TABLE_NAME = 63;
/** First half of the advisory lock key taken while creating tables ("tskv"). */
const DDL_LOCK_CLASS = 0x74736b76;

/** SQLSTATE classes that mean "the server cannot serve now", not "your request is wrong". */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // node-postgres raises errors without a SQLSTATE for the connection itself: refused, reset,
  // DNS, "Connection terminated", "timeout exceeded when trying to connect", "Query read timeout".
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return (
    code.startsWith('08') || // connection_exception
    code.startsWith('53') || // insufficient_resources (too_many_connections, disk_full, out_of_memory)
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up, recovering)
    code === '57014' || // query_canceled (statement_timeout)
    code === '40001' || // serialization_failure
    code === '40P01' || // deadlock_detected
    code === '55P03' // lock_not_available (lock_timeout)
  );
}

function storageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const message = (error as Error).message ?? String(error);
  if (isUnavailable(error)) return new StorageError('storage_unavailable', `PostgreSQL unavailable: ${message}`, { cause: error });
  return new StorageError('backend_failure', `PostgreSQL: ${message}`, { cause: error });
}

const UNDEFINED_TABLE = '42P01';

/**
 * PostgreSQL store in upstream's layout (upstream deps/key-value-storage/src/postgres/mod.rs and the
 * Helm chart's upstream deployment/helm-chart/files/postgres-initkv.sql): one table per namespace,
 * named after it, `value BYTEA, key TEXT PRIMARY KEY`, values stored as the raw bytes. A
 * database written by upstream trustee is served by this store and the reverse.
 *
 * Expiry (upstream has none) lives in one extra nullable column `expires_at BIGINT` (ms since
 * the epoch), added with `ADD COLUMN IF NOT EXISTS` when a table is first used. Upstream's
 * queries name their columns, so they ignore it; rows written by upstream have it NULL (never
 * expire). Reads treat an expired row as absent; a sweeper deletes them every minute.
 *
 * `set(..., {overwrite: false})` is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`
 * statement: an atomic claim across every process on the database (the KBS's single-use nonce
 * relies on it).
 *
 * Every call is bounded (`connectTimeoutMs` to get a connection, `timeoutMs` for the query,
 * also sent as `statement_timeout`); a server that is down or silent gives a
 * `storage_unavailable` StorageError within that bound, and the pool opens fresh connections
 * once the server is back.
 */
// pg is loaded when a PostgresStore is made: a process on another store never pays its start-up
// CPU (bench/startup.bench.ts). `require`: the constructor needs it synchronously; pg is CommonJS.
const require = createRequire(import.meta.url);
const loadPg = (): typeof pg => require('pg') as typeof pg;

export class PostgresStore implements KeyValueStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #tables = new Map<string, Promise<string>>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  /** The last error of an idle connection (server restart, network); kept for diagnostics only. */
  lastIdleError: Error | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#pool = new (loadPg().Pool)({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      query_timeout: this.#timeoutMs,
      statement_timeout: this.#timeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'trustee-ts',
    });
    // An idle connection the server closes (restart, failover) emits 'error' on the pool; without
    // a listener that would crash the process. The pool drops it and connects anew on demand.
    this.#pool.on('error', (error) => {
      this.lastIdleError = error;
    });
    const interval = options.sweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#sweeper = setInterval(() => {
        this.sweepExpired().catch(() => undefined); // a failed sweep retries next time; reads filter expiry anyway
      }, interval);
      this.#sweeper.unref();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    this.#assertOpen();
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw storageError(error);
    }
  }

  /** The quoted table of a namespace, created (race-safe across processes) on first use. */
  #table(namespace: string): Promise<string> {
    assertValidNamespace(namespace);
    if (Buffer.byteLength(namespace) > MAX_TABLE_NAME) {
      throw new StorageError('invalid_namespace', `PostgreSQL table names are at most ${MAX_TABLE_NAME} bytes: ${namespace}`);
    }
    let table = this.#tables.get(namespace);
    if (table === undefined) {
      table = this.#ensureTable(namespace);
      this.#tables.set(namespace, table);
      table.catch(() => this.#tables.delete(namespace));
    }
    return table;
  }

  async #ensureTable(namespace: string): Promise<string> {
    const table = loadPg().escapeIdentifier(namespace);
    // Fast path without locks: the table exists with our expiry column (every start after the first).
    const existing = await this.#query<{ ok: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'expires_at' AND NOT attisdropped) AS ok`,
      [table],
    );
    if (existing.rows[0]?.ok === true) return table;
    this.#assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storageError(error);
    }
    try {
      // CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE of the same name (a
      // unique violation on pg_type); replicas starting together serialize on an advisory lock.
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DDL_LOCK_CLASS, namespace]);
      // Upstream's column order (upstream deployment/helm-chart/files/postgres-initkv.sql).
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (value BYTEA, key TEXT PRIMARY KEY)`);
      await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS expires_at BIGINT`);
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      // A connection in an unknown transaction state is destroyed, not returned to the pool.
      client.release(error instanceof Error ? error : true);
      throw storageError(error);
    }
    return table;
  }

  /** Runs a statement on a namespace's table; a table dropped behind our back is recreated once. */
  async #onTable<R extends pg.QueryResultRow>(namespace: string, sql: (table: string) => string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const table = await this.#table(namespace);
    try {
      return await this.#query<R>(sql(table), values);
    } catch (error) {
      if (!(error instanceof StorageError) || (error.cause as { code?: unknown } | undefined)?.code !== UNDEFINED_TABLE) throw error;
      this.#tables.delete(namespace);
      return this.#query<R>(sql(await this.#table(namespace)), values);
    }
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    assertValidKey(key);
    const result = await this.#onTable<{ value: Buffer | null }>(
      namespace,
      (table) => `SELECT value FROM ${table} WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)`,
      [key, this.#now()],
    );
    const value = result.rows[0]?.value;
    // upstream's column is nullable; a NULL value was never written by either implementation.
    if (value === undefined || value === null) return undefined;
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    assertValidKey(key);
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const expiresAt = options.expiresAtMs ?? null;
    if (options.overwrite === false) {
      // Inserts, or replaces only a row that has expired: one statement, so concurrent claims on
      // any number of replicas see exactly one winner (the unique index serializes them).
      const result = await this.#onTable(
        namespace,
        (table) =>
          `INSERT INTO ${table} AS current (key, value, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
           WHERE current.expires_at IS NOT NULL AND current.expires_at <= $4`,
        [key, bytes, expiresAt, this.#now()],
      );
      return result.rowCount === 1;
    }
    await this.#onTable(
      namespace,
      (table) =>
        `INSERT INTO ${table} (key, value, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [key, bytes, expiresAt],
    );
    return true;
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    assertValidKey(key);
    const result = await this.#onTable<{ expires_at: string | null }>(namespace, (table) => `DELETE FROM ${table} WHERE key = $1 RETURNING expires_at`, [key]);
    const row = result.rows[0];
    // BIGINT arrives as a decimal string (node-postgres keeps int8 exact).
    return row !== undefined && (row.expires_at === null || Number(row.expires_at) > this.#now());
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    const result = await this.#onTable<{ key: string }>(
      namespace,
      (table) => `SELECT key FROM ${table} WHERE starts_with(key, $1) AND (expires_at IS NULL OR expires_at > $2)`,
      [prefix, this.#now()],
    );
    // Sorted here (code-unit order, like every other backend), not by the database's collation.
    return result.rows.map((row) => row.key).sort();
  }

  /** A round trip to the server (readiness probes). */
  async ping(): Promise<void> {
    await this.#query('SELECT 1', []);
  }

  /** Deletes expired rows of every table this store has used; returns how many. */
  async sweepExpired(): Promise<number> {
    let deleted = 0;
    for (const namespace of [...this.#tables.keys()]) {
      const result = await this.#onTable(namespace, (table) => `DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= $1`, [this.#now()]);
      deleted += result.rowCount ?? 0;
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    await this.#pool.end();
  }
}
