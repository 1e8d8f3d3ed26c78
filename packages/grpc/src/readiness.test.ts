/**
 * Invariant: readiness is the conjunction of its checks, each bounded by a deadline (a check
 * that hangs reports not ready, it never hangs the probe); reports are shared within the cache
 * window; start-up work that fails transiently is retried in the background until it succeeds,
 * while a non-transient failure stops the start at once (or reaches onFatal when it shows later).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import { HealthClient, healthServiceDefinition } from './protos.ts';
import { DeferredStart, DependencyUnavailableError, healthCheckHandler, Readiness } from './readiness.ts';
import { errorClassWithCode } from '@trustee/errors';

class Transient extends errorClassWithCode('transient') {}

describe('Readiness', () => {
  test('ready only when every check answers; failures are named with their message', async () => {
    let storeUp = false;
    const readiness = new Readiness([
      { name: 'storage', check: async () => (storeUp ? undefined : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))) },
      { name: 'peer', check: async () => undefined },
    ], { cacheMs: 0 });
    expect(await readiness.report()).toEqual({
      ready: false,
      dependencies: [
        { name: 'storage', ready: false, error: 'connect ECONNREFUSED 127.0.0.1:5432' },
        { name: 'peer', ready: true },
      ],
    });
    storeUp = true;
    expect((await readiness.report()).ready).toBe(true);
  });

  test('a check that never answers is not ready after the deadline', async () => {
    const readiness = new Readiness([{ name: 'hung', check: () => new Promise<void>(() => undefined) }], { timeoutMs: 50, cacheMs: 0 });
    const started = performance.now();
    expect(await readiness.report()).toEqual({ ready: false, dependencies: [{ name: 'hung', ready: false, error: 'no answer within 50 ms' }] });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('concurrent and repeated reports within the cache window run the checks once', async () => {
    let runs = 0;
    const readiness = new Readiness([{ name: 'counted', check: async () => void (runs += 1) }], { cacheMs: 60_000 });
    await Promise.all([readiness.report(), readiness.report(), readiness.report()]);
    await readiness.report();
    expect(runs).toBe(1);
  });
});

describe('DeferredStart', () => {
  const fatal: unknown[] = [];
  afterEach(() => {
    fatal.length = 0;
  });
  const options = { isTransient: (error: unknown) => error instanceof Transient, onFatal: (error: unknown) => void fatal.push(error), retryMs: 10 };

  test('a first attempt that succeeds is ready at once', async () => {
    const deferred = await DeferredStart.begin('signer', async () => 42, options);
    expect(deferred.ready).toBe(true);
    expect(deferred.require()).toBe(42);
  });

  test('a non-transient failure is thrown by begin (a configuration error stops the start)', async () => {
    await expect(DeferredStart.begin('signer', () => Promise.reject(new Error('cannot read key.pem')), options)).rejects.toThrow('cannot read key.pem');
  });

  test('transient failures are retried until the dependency answers; require() says why meanwhile', async () => {
    let attempts = 0;
    const deferred = await DeferredStart.begin(
      'signer',
      async () => {
        attempts += 1;
        if (attempts < 3) throw new Transient('store unreachable');
        return 'key';
      },
      options,
    );
    expect(deferred.ready).toBe(false);
    expect(() => deferred.require()).toThrow(DependencyUnavailableError);
    expect(() => deferred.require()).toThrow('signer is not started yet: store unreachable');
    await expect.poll(() => deferred.ready, { timeout: 2000, interval: 10 }).toBe(true);
    expect(deferred.require()).toBe('key');
    expect(attempts).toBe(3);
    expect(fatal).toEqual([]);
    deferred.close();
  });

  test('a non-transient failure during the retries reaches onFatal and stops retrying', async () => {
    let attempts = 0;
    const deferred = await DeferredStart.begin(
      'signer',
      async () => {
        attempts += 1;
        throw attempts === 1 ? new Transient('store unreachable') : new Error('stored key is not PEM');
      },
      options,
    );
    await expect.poll(() => fatal.length, { timeout: 2000, interval: 10 }).toBe(1);
    expect((fatal[0] as Error).message).toBe('stored key is not PEM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(attempts).toBe(2);
    deferred.close();
  });
});

describe('gRPC health from readiness', () => {
  test('SERVING / NOT_SERVING follow the checks; unknown service names are NOT_FOUND', async () => {
    let up = false;
    const readiness = new Readiness([{ name: 'storage', check: async () => (up ? undefined : Promise.reject(new Error('down'))) }], { cacheMs: 0 });
    const server = new grpc.Server();
    server.addService(healthServiceDefinition, { Check: healthCheckHandler(['', 'svc.A'], readiness) } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const check = (service: string): Promise<{ status?: string; code?: number }> =>
      new Promise((resolve) => {
        (client as unknown as { Check: (request: object, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void) => void }).Check({ service }, (error, response) =>
          resolve(error === null ? { status: response?.status ?? '' } : { code: error.code }),
        );
      });
    try {
      expect(await check('svc.A')).toEqual({ status: 'NOT_SERVING' });
      expect(await check('liveness')).toEqual({ status: 'SERVING' });
      up = true;
      expect(await check('')).toEqual({ status: 'SERVING' });
      expect(await check('other')).toEqual({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
