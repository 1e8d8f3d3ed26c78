import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertKeyLimits } from './keyRules.ts';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { StorageError } from './storageError.ts';

export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a private in-memory database. Parent directories are created. */
  readonly path: string;
  /** Clock for expiry decisions (ms since the epoch). */
  readonly now?: () => number;
  /** How often expired rows are deleted; 0 disables the sweeper. Default 60 s (upstream's session sweep). */
  readonly sweepIntervalMs?: number;
  /** How long a writer waits for another process's lock before failing. Default 5 s. */
  readonly busyTimeoutMs?: number;
  /**
   * `FULL` (default): every commit is fsynced before `set` resolves. `NORMAL`: WAL commits are
   * atomic and consistent but the last ones may be lost on power failure — for short-lived,
   * re-creatable state such as RCAR sessions, where an fsync per handshake step would dominate.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

interface Statements {
  readonly get: Database.Statement<[string, string, number], { value: Buffer }>;
  readonly upsert: Database.Statement<[string, string, Buffer, number | null]>;
  readonly insertIfAbsent: Database.Statement<[string, string, Buffer, number | null, number]>;
  readonly delete: Database.Statement<[string, string], { expires_at: number | null }>;
  readonly listAll: Database.Statement<[string, number], { key: string }>;
  readonly listPrefix: Database.Statement<[string, number, string, number], { key: string }>;
  readonly sweep: Database.Statement<[number]>;
}

/**
 * SQLite-backed store: one table keyed by (namespace, key), WAL journal, `synchronous=FULL` so
 * a resolved `set` survives power loss, and a busy timeout so several KBS processes can share
 * one database file (the HA story of user-needs theme 1 on a single host or shared volume).
 *
 * better-sqlite3 is synchronous; statements are prepared once and each call is one short
 * transaction, so the event loop is blocked only for the duration of one indexed lookup or
 * one WAL append.
 */
/**
 * `PRAGMA journal_mode = WAL` needs an exclusive lock, and SQLite answers SQLITE_BUSY at once,
 * without calling the busy handler, when another process is switching the same fresh file at the
 * same moment (KBS workers started together on a new data directory). Retry within the busy
 * timeout; the wait is synchronous because it happens once, while the store opens.
 */
function switchToWal(db: Database.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 1; ; attempt += 1) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = (error as { code?: unknown }).code === 'SQLITE_BUSY';
      if (!busy || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, Math.min(5 * attempt, 50));
    }
  }
}

export class SqliteStore implements KeyValueStore {
  readonly #db: Database.Database;
  readonly #statements: Statements;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.#now = options.now ?? Date.now;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    try {
      this.#db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
      switchToWal(this.#db, options.busyTimeoutMs ?? 5000);
      this.#db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      // A checkpoint fsyncs the database; for the NORMAL (session) handle let the WAL grow to
      // ~40 MB between checkpoints instead of ~4 MB, so handshakes rarely pay for one.
      if (options.synchronous === 'NORMAL') this.#db.pragma('wal_autocheckpoint = 10000');
      this.#db.exec(
        `CREATE TABLE IF NOT EXISTS kv (
           namespace TEXT NOT NULL,
           key TEXT NOT NULL,
           value BLOB NOT NULL,
           expires_at INTEGER,
           PRIMARY KEY (namespace, key)
         ) WITHOUT ROWID;`,
        // No index on expires_at: it would cost every session write, while the once-a-minute
        // sweep can afford a table scan.
      );
      this.#statements = {
        get: this.#db.prepare('SELECT value FROM kv WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)'),
        upsert: this.#db.prepare(
          `INSERT INTO kv (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
        ),
        // An expired row counts as absent, so it may be replaced even without overwrite.
        insertIfAbsent: this.#db.prepare(
          `INSERT INTO kv (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
           WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?`,
        ),
        delete: this.#db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ? RETURNING expires_at'),
        listAll: this.#db.prepare('SELECT key FROM kv WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?)'),
        // substr counts code points, hence the caller passes the prefix length in code points.
        listPrefix: this.#db.prepare(
          'SELECT key FROM kv WHERE namespace = ? AND substr(key, 1, ?) = ? AND (expires_at IS NULL OR expires_at > ?)',
        ),
        sweep: this.#db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      };
    } catch (error) {
      throw new StorageError('backend_failure', `cannot open SQLite database ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    const interval = options.sweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#sweeper = setInterval(() => {
        try {
          this.sweepExpired();
        } catch {
          // A locked database during a sweep is harmless: the next sweep retries, reads filter expiry anyway.
        }
      }, interval);
      this.#sweeper.unref();
    }
  }

  #open(): Statements {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    return this.#statements;
  }

  #run<T>(action: (statements: Statements) => T): T {
    const statements = this.#open();
    try {
      return action(statements);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError('backend_failure', `SQLite: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const row = this.#run((s) => s.get.get(namespace, key, this.#now()));
    return row === undefined ? undefined : new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.byteLength);
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    assertKeyLimits(key);
    const blob = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const expiresAt = options.expiresAtMs ?? null;
    return this.#run((s) => {
      if (options.overwrite === false) return s.insertIfAbsent.run(namespace, key, blob, expiresAt, this.#now()).changes > 0;
      s.upsert.run(namespace, key, blob, expiresAt);
      return true;
    });
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const row = this.#run((s) => s.delete.get(namespace, key));
    return row !== undefined && (row.expires_at === null || row.expires_at > this.#now());
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    const now = this.#now();
    const rows = this.#run((s) => (prefix === '' ? s.listAll.all(namespace, now) : s.listPrefix.all(namespace, [...prefix].length, prefix, now)));
    return rows.map((row) => row.key).sort();
  }

  /** Reads the database (a locked or unreadable file fails here). */
  async ping(): Promise<void> {
    this.#run(() => this.#db.prepare('SELECT 1').get());
  }

  /** Deletes every expired row; returns how many. The sweeper calls this periodically. */
  sweepExpired(): number {
    return this.#run((s) => s.sweep.run(this.#now()).changes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#db.close();
  }
}
