/**
 * The RVPS composition root: config → storage → built-in RVPS core → admin gate → gRPC and
 * REST transports. Binding is left to the caller (main.ts, tests).
 */
import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { createBuiltinRvps, REFERENCE_VALUE_NAMESPACE, type BuiltinRvps } from '@trustee/rvps-core';
import { Readiness } from '@trustee/grpc';
import { openStore, type KeyValueStore } from '@trustee/storage';
import { createAdminGate } from './adminAuth.ts';
import type { RvpsConfig } from './config.ts';
import { createGrpcServer, type TlsFiles } from './grpcServer.ts';
import { silentLogger, type RootLogger } from '@trustee/log';
import { RvpsMetrics } from './metrics.ts';
import { createReferenceValueOperations, type ReferenceValueOperations } from './referenceValues.ts';
import { buildRestServer } from './restServer.ts';

/** How long SIGTERM waits for in-flight gRPC calls before cutting connections. */
export const SHUTDOWN_GRACE_MS = 3000;

export interface ComposeOptions {
  readonly now?: () => Date;
  readonly log?: RootLogger;
  readonly defaultMetrics?: boolean;
  readonly tls?: TlsFiles;
  /** Use this store instead of opening the configured one (tests). */
  readonly store?: KeyValueStore;
}

export interface ComposedRvps {
  readonly grpcServer: grpc.Server;
  readonly restServer: FastifyInstance;
  readonly operations: ReferenceValueOperations;
  readonly rvps: BuiltinRvps;
  readonly metrics: RvpsMetrics;
  readonly readiness: Readiness;
  /** Stops both transports (in-flight calls finish) and closes the store. */
  close(): Promise<void>;
}

export async function composeRvps(config: RvpsConfig, options: ComposeOptions = {}): Promise<ComposedRvps> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? silentLogger;
  const admin = await createAdminGate(config.admin, now);
  const store = options.store ?? openStore(config.storage, { now: () => now().getTime() });
  const rvps = createBuiltinRvps(store, { now, namespace: REFERENCE_VALUE_NAMESPACE });
  const metrics = new RvpsMetrics({ defaultMetrics: options.defaultMetrics === true });
  const operations = createReferenceValueOperations({ rvps, admin, protectRegister: config.admin?.protectRegister ?? false, metrics });
  // Nothing at start needs the store: a store that is away only makes the service not ready.
  const readiness = new Readiness([{ name: 'storage', check: () => store.ping() }]);
  const grpcServer = createGrpcServer({ operations, metrics, log, readiness });
  const restServer = buildRestServer({ operations, metrics, log, readiness, ...(options.tls === undefined ? {} : { https: options.tls }) });
  let closed: Promise<void> | undefined;
  return {
    grpcServer,
    restServer,
    operations,
    rvps,
    metrics,
    readiness,
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          // In-flight calls get a grace period; a client that never lets go cannot block shutdown.
          const force = setTimeout(() => {
            grpcServer.forceShutdown();
            resolve();
          }, SHUTDOWN_GRACE_MS);
          grpcServer.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await restServer.close();
        await store.close();
      })();
      return closed;
    },
  };
}
