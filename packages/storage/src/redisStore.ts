import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { KeyValueStore, SetOptions } from './keyValueStore.ts';
import { assertValidKey, assertValidNamespace } from './keyRules.ts';
import { StorageError } from './storageError.ts';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS (Azure Cache for Redis: port 6380). */
  readonly url: string;
  /** PEM CA bundle for `rediss://` servers whose certificate is not from a public CA. */
  readonly ca?: Buffer;
  /** Clock for expiry decisions (ms since the epoch): a TTL is `expiresAtMs - now()`. */
  readonly now?: () => number;
  /** Bound on every call, including waiting for a (re)connection. Default 5 s. */
  readonly timeoutMs?: number;
  /** Bound on opening the TCP/TLS connection. Default 3 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Prepended to every Redis key (`{keyPrefix}{namespace}:{key}`). Empty by default, which is
   * upstream's layout; tests use a unique prefix per run.
   */
  readonly keyPrefix?: string;
}

/** Up to this many keys per SCAN round trip. */
const SCAN_COUNT = 1000;

function unavailable(message: string, cause?: unknown): StorageError {
  return new StorageError('storage_unavailable', `Redis unavailable: ${message}`, cause === undefined ? undefined : { cause });
}

/** Glob-escapes a literal for SCAN MATCH (keys and namespaces are validated, but stay safe). */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

/**
 * Redis / Valkey store in upstream's layout (upstream deps/key-value-storage/src/redis/mod.rs): the
 * value of `key` in `namespace` is the Redis string `{namespace}:{key}` holding the raw bytes.
 * Keys written by upstream trustee are served by this store and the reverse.
 *
 * Expiry is a Redis TTL (`SET ... PX`), so expired keys vanish on every replica at once.
 * `set(..., {overwrite: false})` is `SET ... NX`: an atomic claim (an expired key is absent to
 * Redis, so it can be claimed again).
 *
 * Fail fast: commands are never queued while disconnected (a call waits for the connection at
 * most `timeoutMs`, then fails with `storage_unavailable`), and a command cut off by a dropped
 * connection is not resent later (`autoResendUnfulfilledCommands: false`), so a write reported
 * as failed cannot land minutes later. ioredis reconnects in the background with backoff
 * (100 ms steps up to 1 s).
 */
// ioredis is loaded when a RedisStore is made: a process on another store never pays its start-up
// CPU (bench/startup.bench.ts). `require`: the constructor needs it synchronously; ioredis is CommonJS.
const require = createRequire(import.meta.url);
const loadRedis = (): typeof Redis => (require('ioredis') as { Redis: typeof Redis }).Redis;

export class RedisStore implements KeyValueStore {
  readonly #redis: Redis;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #keyPrefix: string;
  #closed = false;
  #ready: Promise<void> | undefined;
  /** The last connection error (server down, TLS, auth); kept for diagnostics only. */
  lastConnectionError: Error | undefined;

  constructor(options: RedisStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#keyPrefix = options.keyPrefix ?? '';
    this.#redis = new (loadRedis())(options.url, {
      connectTimeout: options.connectTimeoutMs ?? 3000,
      commandTimeout: this.#timeoutMs,
      // A socket that stops answering is destroyed and reconnected instead of hanging forever.
      socketTimeout: this.#timeoutMs,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      lazyConnect: true,
      ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
    });
    // Without an 'error' listener ioredis logs every failed reconnect attempt to stderr.
    this.#redis.on('error', (error: Error) => {
      this.lastConnectionError = error;
    });
    this.#redis.connect().catch(() => undefined); // failures surface per call; reconnects continue
  }

  /** Resolves once the connection is ready; rejects after `timeoutMs` with storage_unavailable. */
  async #whenReady(): Promise<void> {
    if (this.#closed) throw new StorageError('closed', 'store is closed');
    if (this.#redis.status === 'ready') return;
    this.#ready ??= new Promise<void>((resolve) => {
      this.#redis.once('ready', () => {
        this.#ready = undefined;
        resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#ready,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            const reason = this.lastConnectionError?.message ?? `connection ${this.#redis.status}`;
            reject(unavailable(`not connected within ${this.#timeoutMs} ms (${reason})`));
          }, this.#timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #call<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    await this.#whenReady();
    try {
      return await command(this.#redis);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      const message = (error as Error).message ?? String(error);
      // Server-side replies (ReplyError: WRONGTYPE, NOAUTH, OOM, READONLY...) are backend failures;
      // everything else is the connection: timeouts, resets, "Stream isn't writeable".
      if ((error as Error).name === 'ReplyError') throw new StorageError('backend_failure', `Redis: ${message}`, { cause: error });
      throw unavailable(message, error);
    }
  }

  #key(namespace: string, key: string): string {
    assertValidNamespace(namespace);
    assertValidKey(key);
    return `${this.#keyPrefix}${namespace}:${key}`;
  }

  async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
    const redisKey = this.#key(namespace, key);
    const value = await this.#call((redis) => redis.getBuffer(redisKey));
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async set(namespace: string, key: string, value: Uint8Array, options: SetOptions = {}): Promise<boolean> {
    const redisKey = this.#key(namespace, key);
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const overwrite = options.overwrite !== false;
    if (options.expiresAtMs === undefined) {
      if (overwrite) {
        await this.#call((redis) => redis.set(redisKey, bytes));
        return true;
      }
      return (await this.#call((redis) => redis.set(redisKey, bytes, 'NX'))) === 'OK';
    }
    const ttlMs = Math.ceil(options.expiresAtMs - this.#now());
    if (ttlMs <= 0) {
      // Already expired: the key must read as absent afterwards, as on every other backend.
      if (overwrite) {
        await this.#call((redis) => redis.del(redisKey));
        return true;
      }
      return (await this.#call((redis) => redis.exists(redisKey))) === 0;
    }
    if (overwrite) {
      await this.#call((redis) => redis.set(redisKey, bytes, 'PX', ttlMs));
      return true;
    }
    return (await this.#call((redis) => redis.set(redisKey, bytes, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const redisKey = this.#key(namespace, key);
    return (await this.#call((redis) => redis.del(redisKey))) === 1;
  }

  /**
   * SCAN (not upstream's KEYS, which blocks the server for the whole keyspace) over
   * `{namespace}:{prefix}*`; SCAN may repeat keys, hence the set.
   */
  async list(namespace: string, prefix = ''): Promise<string[]> {
    assertValidNamespace(namespace);
    const head = `${this.#keyPrefix}${namespace}:`;
    const pattern = `${globLiteral(head)}${globLiteral(prefix)}*`;
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#call((redis) => redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
      for (const redisKey of batch) keys.add(redisKey.slice(head.length));
      cursor = next;
    } while (cursor !== '0');
    return [...keys].sort();
  }

  /** A round trip to the server (readiness probes). */
  async ping(): Promise<void> {
    await this.#call((redis) => redis.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // QUIT lets in-flight replies arrive; a dead connection is simply dropped.
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
