/**
 * Composition root: config → store → collateral → RVPS (built-in or remote) → attestation core
 * → metrics. Both transports (gRPC, REST) receive the `ComposedAs` and nothing else; tests and
 * the benchmark compose in-process with their own store, clock and verifiers.
 *
 * A store or remote RVPS that does not answer at start does not stop the start: the service
 * listens, reports NOT_SERVING (gRPC health) / 503 (`/readyz`), answers UNAVAILABLE, and retries
 * the start-up work that needs the store (token signer key, default policies) until it answers.
 */
import { collateralFromVerifierConfig, createAttestationService, verifiersFromTrustAnchorConfig, type AttestationService } from '@trustee/attestation';
import type { Json, VerificationRequest } from '@trustee/protocol';
import { createBuiltinRvps, createGrpcRvpsClient, type CallContext, type CallerCredentials } from '@trustee/rvps-core';
import { DeferredStart, Readiness } from '@trustee/grpc';
import { isStorageUnavailable, openStore, type KeyValueStore } from '@trustee/storage';
import { getVerifier, supportedTees, type CollateralSource, type FetchFunction, type TeeName, type Verifier } from '@trustee/verifiers';
import type { AsConfig } from './config.ts';
import { ConfigError } from './config.ts';
import { createAdminGuard, type AdminGuard } from './adminGuard.ts';
import { toAsError } from './errors.ts';
import { silentLogger, type Logger, type RootLogger } from '@trustee/log';
import { AsMetrics } from './metrics.ts';

/**
 * What the reference-value RPCs need; the built-in RVPS and the remote client both provide it.
 * `credentials` are the caller's, forwarded to a remote RVPS (the built-in one ignores them: the
 * AdminGuard has checked them), as is `context` (the calling request's id, for the remote RVPS's log).
 */
export interface RvpsBackend {
  query(id: string, context?: CallContext): Promise<Json | undefined>;
  register(message: string, credentials?: CallerCredentials, context?: CallContext): Promise<void>;
  /** Records as JSON texts `{"version","name","expiration","value"}`. */
  listRecords(credentials?: CallerCredentials, context?: CallContext): Promise<string[]>;
  delete(id: string, credentials?: CallerCredentials, context?: CallContext): Promise<boolean>;
}

export interface ComposeAsOptions {
  readonly now?: () => Date;
  /** Replaces the store `storage_backend` names (tests, bench). */
  readonly store?: KeyValueStore;
  /** Per-TEE verifiers replacing the registry's (own trust anchors; tests' test PKIs). */
  readonly verifiers?: Partial<Record<TeeName, Verifier>>;
  /** Replaces the collateral `verifier_config` describes. */
  readonly collateral?: CollateralSource;
  readonly log?: RootLogger;
  readonly defaultMetrics?: boolean;
  /** HTTP client for KDS/PCS (default: the global fetch). */
  readonly fetch?: FetchFunction;
  /** Start-up retried in the background failed for good (serve.ts exits); default: log. */
  readonly onFatal?: (error: unknown) => void;
}

const globalFetch: FetchFunction = (url, init) => fetch(url, init);

export interface ComposedAs {
  /** Throws DependencyUnavailableError while the start-up still waits for the store. */
  readonly service: AttestationService;
  /** What gRPC health and `/readyz` report. */
  readonly readiness: Readiness;
  readonly rvps: RvpsBackend;
  /** Which calls need the admin token (config `admin`); both transports ask it. */
  readonly admin: AdminGuard;
  readonly metrics: AsMetrics;
  readonly store: KeyValueStore;
  readonly log: RootLogger;
  /**
   * The core's evaluate with metrics and errors classified (`AsError`); `log` is the request's
   * logger (with its `reqId`), so the core's lines for this call carry the request id.
   */
  evaluate(requests: readonly VerificationRequest[], policyIds: readonly string[], log?: Logger): Promise<string>;
  close(): Promise<void>;
}

export async function composeAs(config: AsConfig, options: ComposeAsOptions = {}): Promise<ComposedAs> {
  const log = options.log ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const store = options.store ?? openStore(config.storage, { now: () => now().getTime() });
  const closers: Array<() => Promise<void> | void> = options.store === undefined ? [() => store.close()] : [];
  const metrics = new AsMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const readiness = new Readiness([{ name: 'storage', check: () => store.ping() }]);
  let admin: AdminGuard;
  try {
    admin = await createAdminGuard(config.admin, { remoteRvps: config.attestation.rvps.type === 'GrpcRemote', now });
  } catch (error) {
    await Promise.all(closers.map((close) => close()));
    throw error;
  }

  let rvps: RvpsBackend;
  let referenceValues;
  if (config.attestation.rvps.type === 'GrpcRemote') {
    const client = createGrpcRvpsClient({ address: config.attestation.rvps.address });
    closers.push(() => client.close());
    // Not awaited: the RVPS may start after the AS; readiness names it until it answers.
    readiness.add({ name: `reference value provider ${client.address}`, check: () => client.health(1500) });
    log.info(`reference values from the remote RVPS at ${client.address}`);
    rvps = client;
    referenceValues = client;
  } else {
    const rvpsStore =
      config.rvpsStorageType !== undefined && config.rvpsStorageType !== config.storage.storageType && options.store === undefined
        ? openStore(config.storage, { storageType: config.rvpsStorageType, now: () => now().getTime() })
        : store;
    if (rvpsStore !== store) closers.push(() => rvpsStore.close());
    const builtin = createBuiltinRvps(rvpsStore, { now });
    rvps = {
      query: (id) => builtin.query(id),
      register: (message) => builtin.register(message),
      delete: (id) => builtin.delete(id),
      async listRecords() {
        const records: string[] = [];
        for (const id of await builtin.list()) {
          const record = await builtin.getRecord(id);
          if (record !== undefined) records.push(JSON.stringify(record));
        }
        return records;
      },
    };
    referenceValues = builtin;
  }

  let collateral: CollateralSource;
  try {
    collateral = options.collateral ?? collateralFromVerifierConfig(config.attestation.verifierConfig, { store, now, fetch: metrics.fetches(options.fetch ?? globalFetch) });
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  let service: DeferredStart<AttestationService>;
  try {
    // Operator-pinned roots (verifier_config.*.trust_anchors_path) first, the caller's overrides over them.
    const configured = await verifiersFromTrustAnchorConfig(config.attestation.verifierConfig, log);
    // Loads or creates the token signer key and stores the default policies: needs the store.
    service = await DeferredStart.begin(
      'attestation service start-up',
      () =>
        createAttestationService({
          store,
          config: config.attestation,
          now,
          collateral: metrics.instrument(collateral),
          log,
          referenceValues,
          verifiers: timedVerifiers(metrics, { ...configured, ...options.verifiers }),
        }),
      {
        isTransient: isStorageUnavailable,
        onFatal: options.onFatal ?? ((error: unknown) => log.error(`start-up failed: ${(error as Error).message}`)),
        onRetry: (error, delayMs) => log.warn(`the store does not answer (${(error as Error).message}); start-up retried in ${delayMs} ms`),
      },
    );
  } catch (error) {
    await Promise.all(closers.map((close) => close()));
    throw new ConfigError(`attestation service: ${(error as Error).message}`, { cause: error });
  }
  closers.push(() => service.close());
  readiness.add(service.check);

  return {
    get service() {
      return service.require();
    },
    readiness,
    rvps,
    admin,
    metrics,
    store,
    log,
    async evaluate(requests, policyIds, requestLog) {
      const started = process.hrtime.bigint();
      const tee = requests[0]?.tee ?? 'none';
      try {
        const token = await service.require().evaluate(requests, policyIds, requestLog === undefined ? {} : { log: requestLog });
        metrics.attestation(tee, 'ok', Number(process.hrtime.bigint() - started) / 1e9);
        return token;
      } catch (error) {
        const classified = toAsError(error);
        metrics.attestation(tee, classified.code, Number(process.hrtime.bigint() - started) / 1e9);
        throw classified;
      }
    },
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

/** Every verifier of the build (or its configured/overriding replacement), timed per TEE. */
function timedVerifiers(metrics: AsMetrics, overrides: Partial<Record<TeeName, Verifier>>): Partial<Record<TeeName, Verifier>> {
  const timed: Partial<Record<TeeName, Verifier>> = {};
  const tees = new Set<TeeName>([...supportedTees(), ...(Object.keys(overrides) as TeeName[])]);
  for (const tee of tees) timed[tee] = metrics.timeVerifier(overrides[tee] ?? getVerifier(tee));
  return timed;
}
