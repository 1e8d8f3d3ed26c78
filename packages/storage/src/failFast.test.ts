/**
 * Invariant: a PostgreSQL or Redis store whose server is down, silent or cut off fails every
 * call within its timeout with StorageError `storage_unavailable` (never a hang, never an
 * unhandled error), and serves again on its own once the server is reachable.
 *
 * The closed-port and silent-server cases need no database. The recovery cases put a TCP proxy
 * in front of the real local servers and cut it (the shared servers themselves stay up).
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { KeyValueStore } from './keyValueStore.ts';
import { PostgresStore } from './postgresStore.ts';
import { RedisStore } from './redisStore.ts';
import { StorageError } from './storageError.ts';
import { createTestRedis, probePostgres, probeRedis } from './testing/servers.ts';

const TIMEOUT_MS = 400;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends KeyValueStore>(store: T): T {
  cleanups.push(() => store.close());
  return store;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never sends a byte. */
async function silentServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A TCP proxy to `target` that can be cut (listener closed, connections reset) and resumed on the same port. */
async function cuttableProxy(target: { host: string; port: number }): Promise<{ port: number; cut(): Promise<void>; resume(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const cut = (): Promise<void> =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.resetAndDestroy();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
  cleanups.push(cut);
  return {
    port,
    cut,
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
}

async function expectUnavailableWithin(call: () => Promise<unknown>, boundMs: number): Promise<void> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  const elapsed = performance.now() - started;
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code, (error as Error).message).toBe('storage_unavailable');
  expect(elapsed).toBeLessThan(boundMs);
}

/** Polls `call` until it resolves (the client reconnects by itself); fails after `withinMs`. */
async function eventually<T>(call: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('PostgresStore fails fast', () => {
  test('a closed port: every call fails with storage_unavailable at once', async () => {
    const store = track(new PostgresStore({ url: `postgresql://postgres@127.0.0.1:${await closedPort()}/postgres`, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS, sweepIntervalMs: 0 }));
    await expectUnavailableWithin(() => store.get('kbs', 'k'), 2000);
    await expectUnavailableWithin(() => store.set('kbs', 'k', new Uint8Array([1]), { overwrite: false }), 2000);
    await expectUnavailableWithin(() => store.ping(), 2000);
  });

  test('a server that accepts and never answers: calls fail within the connect timeout', async () => {
    const store = track(new PostgresStore({ url: `postgresql://postgres@127.0.0.1:${await silentServer()}/postgres`, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS, sweepIntervalMs: 0 }));
    await expectUnavailableWithin(() => store.get('kbs', 'k'), TIMEOUT_MS * 4);
    await expectUnavailableWithin(() => store.ping(), TIMEOUT_MS * 4);
  });
});

describe('RedisStore fails fast', () => {
  test('a closed port: every call fails with storage_unavailable within its timeout', async () => {
    const store = track(new RedisStore({ url: `redis://127.0.0.1:${await closedPort()}`, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS }));
    await expectUnavailableWithin(() => store.get('kbs', 'k'), TIMEOUT_MS * 4);
    await expectUnavailableWithin(() => store.set('kbs', 'k', new Uint8Array([1]), { overwrite: false }), TIMEOUT_MS * 4);
    await expectUnavailableWithin(() => store.list('kbs'), TIMEOUT_MS * 4);
  });

  test('a server that accepts and never answers: calls fail within their timeout', async () => {
    const store = track(new RedisStore({ url: `redis://127.0.0.1:${await silentServer()}`, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS }));
    await expectUnavailableWithin(() => store.get('kbs', 'k'), TIMEOUT_MS * 4);
    await expectUnavailableWithin(() => store.ping(), TIMEOUT_MS * 4);
  });
});

const postgres = await probePostgres('storage fail-fast recovery (PostgreSQL)');
const redisServer = await probeRedis('storage fail-fast recovery (Redis)');

describe('recovery after the server comes back', () => {
  test.runIf(postgres.available)('PostgreSQL: cut connections fail fast, then the pool reconnects by itself', async () => {
    const target = new URL(postgres.available ? postgres.url : 'postgresql://x');
    const proxy = await cuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(target);
    url.host = `127.0.0.1:${proxy.port}`;
    const store = track(new PostgresStore({ url: url.toString(), timeoutMs: TIMEOUT_MS * 2, connectTimeoutMs: TIMEOUT_MS, sweepIntervalMs: 0 }));
    await store.ping();
    await proxy.cut();
    await expectUnavailableWithin(() => store.ping(), 2000);
    await proxy.resume();
    await eventually(() => store.ping(), 5000);
  });

  test.runIf(redisServer.available)('Redis: cut connections fail fast, writes are not replayed later, and the client reconnects by itself', async () => {
    const redis = await createTestRedis();
    cleanups.push(() => redis.drop());
    const target = new URL(redisServer.available ? redisServer.url : 'redis://x');
    const proxy = await cuttableProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const store = track(new RedisStore({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: redis.prefix, timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS }));
    await store.set('kbs', 'before', new Uint8Array([1]));
    await proxy.cut();
    await expectUnavailableWithin(() => store.set('kbs', 'during', new Uint8Array([2])), TIMEOUT_MS * 4);
    await proxy.resume();
    expect(await eventually(() => store.get('kbs', 'before'), 5000)).toEqual(new Uint8Array([1]));
    // The write reported as failed did not land after the reconnect.
    expect(await redis.client.exists(`${redis.prefix}kbs:during`)).toBe(0);
  });
});
