import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertKeyLimits } from './keyRules.ts';
import type { BatchWrite, ExclusivePlan, KeyValueStore, SetOptions } from './keyValueStore.ts';
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
  readonly listPrefix: Database.Statement<[string, string, number, string, number], { key: string }>;
  readonly sweep: Database.Statement<[number]>;
}

const KV_COLUMNS = `namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER, PRIMARY KEY (namespace, key)`;

/**
 * Rewrites a `kv` table made WITHOUT ROWID (before this layout) as a rowid table, once, in one
 * IMMEDIATE transaction (a process opening the file at the same time waits, then finds it done).
 * The SQL the store runs is the same on both layouts, so older processes keep working on it.
 */
function migrateWithoutRowid(db: Database.Database): void {
  const withoutRowid = (): boolean => /WITHOUT\s+ROWID/i.test(db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get()?.sql ?? '');
  if (!withoutRowid()) return;
  db.transaction(() => {
    if (!withoutRowid()) return;
    db.exec(`CREATE TABLE kv_rowid (${KV_COLUMNS});
             INSERT INTO kv_rowid (namespace, key, value, expires_at) SELECT namespace, key, value, expires_at FROM kv;
             DROP TABLE kv;
             ALTER TABLE kv_rowid RENAME TO kv;`);
  }).immediate();
}

/** A write waiting for the next group commit; `run` executes inside its transaction. */
interface PendingWrite {
  readonly run: (statements: Statements) => unknown;
  readonly resolve: (value: never) => void;
  readonly reject: (error: unknown) => void;
}

/** SQLite answers these when another connection holds the lock past the busy timeout: retrying each write alone would wait again per write. */
const LOCK_ERRORS = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/**
 * SQLite-backed store: one table keyed by (namespace, key), WAL journal, `synchronous=FULL` so
 * a resolved `set` survives power loss, and a busy timeout so several KBS processes can share
 * one database file (the HA story of user-needs theme 1 on a single host or shared volume).
 *
 * better-sqlite3 is synchronous; statements are prepared once. Writes (`set`, `setBatch`,
 * `delete`) are group-committed: those issued in one turn of the event loop run in order in one
 * `BEGIN IMMEDIATE` transaction at the end of that turn (setImmediate), and each promise
 * settles after the COMMIT (fsynced with FULL) — a commit's lock round trips, WAL frame writes
 * and fsync cost per batch what they cost per write before. A read (`get` of a key, `list` of a
 * namespace) that a pending write of this handle touches first commits the pending writes, so a
 * handle always reads its own writes in program order; reads of other keys leave them pending.
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
  #pending: PendingWrite[] = [];
  /** The (namespace, key)s and namespaces the pending writes touch: reads of others need not commit them first. */
  readonly #pendingKeys = new Set<string>();
  readonly #pendingNamespaces = new Set<string>();
  /** Namespaces with a pending `updateExclusive`, whose keys are known only when it runs: any read there commits first. */
  readonly #pendingWholeNamespaces = new Set<string>();
  #flushScheduled = false;
  readonly #commit: (batch: readonly PendingWrite[]) => unknown[];

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
      // A rowid table: its (namespace, key) index is separate from the rows, so listing keys and
      // finding one never walks the values. As WITHOUT ROWID (files made before), a value over
      // ~1 KB (claims, tokens, audit records) spilled to overflow pages inside the key's B-tree
      // and made every insert, lookup and key listing several times slower.
      // No index on expires_at: it would cost every session write, while the once-a-minute
      // sweep can afford a table scan.
      this.#db.exec(`CREATE TABLE IF NOT EXISTS kv (${KV_COLUMNS});`);
      migrateWithoutRowid(this.#db);
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
          'SELECT key FROM kv WHERE namespace = ? AND key >= ? AND substr(key, 1, ?) = ? AND (expires_at IS NULL OR expires_at > ?)',
        ),
        sweep: this.#db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      };
      const statements = this.#statements;
      this.#commit = this.#db.transaction((batch: readonly PendingWrite[]) => batch.map((write) => write.run(statements))).immediate;
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

  /**
   * Runs a read. `touches` says whether a pending write could change its answer (default: any
   * pending write does); only then are the pending writes committed first, so a read of another
   * key does not cut this turn's group commit short.
   */
  #run<T>(action: (statements: Statements) => T, touches: () => boolean = () => true): T {
    const statements = this.#open();
    if (this.#pending.length > 0 && touches()) this.#flush();
    try {
      return action(statements);
    } catch (error) {
      throw asStorageError(error);
    }
  }

  /** Queues a write for this turn's group commit; resolves with what `run` returned, after the COMMIT. */
  #write<T>(keys: readonly (readonly [string, string])[], run: (statements: Statements) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError('closed', 'store is closed'));
    for (const [namespace, key] of keys) {
      this.#pendingKeys.add(pendingKey(namespace, key));
      this.#pendingNamespaces.add(namespace);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (value: never) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  /**
   * Commits the pending writes as one transaction. If it fails for another reason than a lock
   * held past the busy timeout, each write is retried in a transaction of its own, so one write
   * SQLite refuses fails alone, as it did before writes were grouped.
   */
  #flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingKeys.clear();
    this.#pendingNamespaces.clear();
    this.#pendingWholeNamespaces.clear();
    if (this.#closed) {
      for (const write of batch) write.reject(new StorageError('closed', 'store is closed'));
      return;
    }
    let results: unknown[];
    try {
      results = this.#commit(batch);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (batch.length === 1 || (typeof code === 'string' && LOCK_ERRORS.has(code))) {
        for (const write of batch) write.reject(asStorageError(error));
        return;
      }
      for (const write of batch) {
        try {
          write.resolve(this.#commit([write])[0] as never);
        } catch (single) {
          write.reject(asStorageError(single));
        }
      }
      return;
    }
    for (const [index, write] of batch.entries()) write.resolve(results[index] as never);
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const row = this.#run(
      (s) => s.get.get(namespace, key, this.#now()),
      () => this.#pendingKeys.has(pendingKey(namespace, key)) || this.#pendingWholeNamespaces.has(namespace),
    );
    return row === undefined ? undefined : valueOf(row);
  }

  set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    try {
      assertKeyLimits(key);
    } catch (error) {
      return Promise.reject(error);
    }
    const write: BatchWrite = { ...options, namespace, key, value };
    return this.#write([[namespace, key]], (s) => this.#setOne(s, write));
  }

  /** One write; false when it is a conditional create (`overwrite: false`) whose key holds a live value. */
  #setOne(s: Statements, write: BatchWrite): boolean {
    const blob = blobOf(write.value);
    const expiresAt = write.expiresAtMs ?? null;
    if (write.overwrite === false) return s.insertIfAbsent.run(write.namespace, write.key, blob, expiresAt, this.#now()).changes > 0;
    s.upsert.run(write.namespace, write.key, blob, expiresAt);
    return true;
  }

  /** The writes in order inside one transaction, stopping at the first refused conditional create. */
  setBatch(writes: readonly BatchWrite[]): Promise<number> {
    try {
      for (const write of writes) assertKeyLimits(write.key);
    } catch (error) {
      return Promise.reject(error);
    }
    // A snapshot: the writes are applied at the end of the turn.
    const batch = writes.map((write) => ({ ...write }));
    return this.#write(
      batch.map((write) => [write.namespace, write.key] as const),
      (s) => {
        let applied = 0;
        for (const write of batch) {
          if (!this.#setOne(s, write)) break;
          applied++;
        }
        return applied;
      },
    );
  }

  /**
   * Runs `plan` inside this turn's group commit (BEGIN IMMEDIATE: every other connection's writes
   * wait), so what it read is still current when its writes commit.
   */
  updateExclusive<T>(namespace: string, plan: ExclusivePlan<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError('closed', 'store is closed'));
    this.#pendingNamespaces.add(namespace);
    this.#pendingWholeNamespaces.add(namespace);
    return this.#write([], (s) => {
      const now = this.#now();
      const { writes, result } = plan((key) => {
        const row = s.get.get(namespace, key, now);
        return row === undefined ? undefined : valueOf(row);
      });
      for (const write of writes) {
        assertKeyLimits(write.key);
        // A refused conditional create inside the exclusive transaction means the plan misread the
        // store: fail the whole call (the transaction rolls back) rather than apply a partial plan.
        if (!this.#setOne(s, { ...write, namespace })) {
          throw new StorageError('backend_failure', `updateExclusive: ${namespace}/${write.key} already exists`);
        }
      }
      return result;
    });
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const row = await this.#write([[namespace, key]], (s) => s.delete.get(namespace, key));
    return row !== undefined && (row.expires_at === null || row.expires_at > this.#now());
  }

  async list(namespace: string, prefix = ''): Promise<string[]> {
    const now = this.#now();
    const rows = this.#run(
      (s) => (prefix === '' ? s.listAll.all(namespace, now) : s.listPrefix.all(namespace, prefix, [...prefix].length, prefix, now)),
      () => this.#pendingNamespaces.has(namespace),
    );
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
    // Writes already asked for are committed, not dropped.
    try {
      this.#flush();
    } catch {
      // #flush settles every write itself; nothing is left to report here.
    }
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#db.close();
  }
}

/** `value`'s bytes as the Buffer better-sqlite3 binds (a view, no copy). */
function blobOf(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** A row's value as a plain Uint8Array view (no copy). */
function valueOf(row: { readonly value: Buffer }): Uint8Array {
  return new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.byteLength);
}

function pendingKey(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

function asStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError('backend_failure', `SQLite: ${(error as Error).message}`, { cause: error });
}
