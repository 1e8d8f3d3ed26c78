/**
 * Wiring: config → storage → attestation service, token verifier, resource policy, admin
 * authorizer, plugins → one fastify app per socket. `main.ts` is the process around it; tests
 * and benchmarks call it in-process.
 *
 * Dependencies that do not answer at start (the store, a remote AS or RVPS) do not stop the
 * start: the KBS listens, `/readyz` says which dependency is missing, requests needing it get
 * 503 ServiceUnavailable, and start-up work that needs the store (token signer key, default
 * policies) is retried until it answers. A configuration error still stops the start at once.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { silentLogger, type Logger, type RootLogger } from '@trustee/log';
import type { ReferenceValueProvider } from '@trustee/rvps-core';
import { openAkvStore, type AkvOverrides } from '@trustee/akv';
import { DeferredStart, Readiness, type DependencyCheck } from '@trustee/grpc';
import { isStorageUnavailable, openStore, REPOSITORY_NAMESPACE, ResourceRepository, repositoryTreeRoot, type KeyValueStore } from '@trustee/storage';
import { createAdminAuthorizer } from './admin/authorizer.ts';
import { createAuditRecorder, openAuditStore, type AuditRecorder } from './audit/index.ts';
import { registerConsole, type ConsoleDeps } from './console/routes.ts';
import type { AttestationBackend, TokenVerifier } from './backends.ts';
import type { KbsConfig } from './config.ts';
import type { TlsServerOptions } from './tlsSettings.ts';
import { ConfigError } from '@trustee/config';
import { createGrpcAttestationBackend } from './grpcAttestationService.ts';
// The KBS's own token verifier (as upstream's kbs/src/token/): no attestation service code; that
// is loaded (below, by import()) only when the config runs it built in.
import { createTokenVerifier } from './token/tokenVerifier.ts';
import { KbsMetrics } from './metrics.ts';
import { PerIpRateLimiter } from './rateLimit.ts';
import { ResourcePlugin, SamplePlugin, type KbsPlugin } from './resource.ts';
import { ResourcePolicy } from './resourcePolicy.ts';
import { DecisionLog } from './policies/decisions.ts';
import { ResourcePolicies } from './policies/resourcePolicies.ts';
import { ScopedPolicyStore } from './policies/scopes.ts';
import { AttestationPolicySelector } from './policies/attestationPolicyIds.ts';
import { buildKbsServer } from './server.ts';
import { SESSION_NAMESPACE, SessionManager } from './sessions.ts';

export interface ComposeOptions {
  /** Injected clock (ms since the epoch) for sessions, admin tokens and the AS. */
  readonly now?: () => number;
  /** The service's logger (default: silent); the attestation service and AKV log through it too. */
  readonly log?: RootLogger;
  /** Replace the store the config names (tests). */
  readonly store?: KeyValueStore;
  readonly maxSessions?: number;
  readonly defaultMetrics?: boolean;
  /** Test-only: credential and SDK options (e.g. trust of a local fake's CA) for the AzureKeyVault resource backend. */
  readonly akv?: AkvOverrides;
  /**
   * Start-up work retried in the background (the store was away at start) failed for good, e.g.
   * a configuration error that only showed once the store answered. `main.ts` exits; default: log.
   */
  readonly onFatal?: (error: unknown) => void;
  /** First delay between start-up retries (default 250 ms, doubling to 5 s). */
  readonly startRetryMs?: number;
}

export interface ComposedKbs {
  /** One app per `http_server.sockets` entry, same state behind all of them. */
  readonly apps: readonly FastifyInstance[];
  readonly store: KeyValueStore;
  readonly policy: ResourcePolicy;
  /** Absent with `[attestation_service] type = "none"` (passport resource KBS). */
  readonly sessions: SessionManager | undefined;
  readonly attestation: AttestationBackend | undefined;
  readonly tokenVerifier: TokenVerifier;
  /** What `/readyz` reports. */
  readonly readiness: Readiness;
  /** The audit trail (absent with `[audit] enabled = false`). */
  readonly audit: AuditRecorder | undefined;
  close(): Promise<void>;
}

/** Start-up steps that need the store; a store that does not answer yet makes them retry. */
interface StartContext {
  readonly readiness: Readiness;
  readonly closers: Array<() => Promise<void> | void>;
  begin<T>(name: string, init: () => Promise<T>): Promise<DeferredStart<T>>;
}

function startContext(options: ComposeOptions, readiness: Readiness, closers: Array<() => Promise<void> | void>): StartContext {
  const onFatal = options.onFatal ?? ((error: unknown) => (options.log ?? silentLogger).error(`start-up failed: ${(error as Error).message}`));
  return {
    readiness,
    closers,
    async begin(name, init) {
      const deferred = await DeferredStart.begin(name, init, {
        isTransient: isStorageUnavailable,
        onFatal,
        ...(options.startRetryMs === undefined ? {} : { retryMs: options.startRetryMs }),
      });
      closers.push(() => deferred.close());
      readiness.add(deferred.check);
      return deferred;
    },
  };
}

function storeCheck(name: string, store: KeyValueStore): DependencyCheck {
  return { name, check: () => store.ping() };
}

export async function composeKbs(config: KbsConfig, options: ComposeOptions = {}): Promise<ComposedKbs> {
  const now = options.now ?? Date.now;
  const clock = { now: () => new Date(now()) };
  const store = options.store ?? openStore(config.storage, { now });
  // Sessions get their own handle: for SQLite their own database file (kbs.sqlite →
  // kbs.sessions.sqlite, shared by replicas like the main one) that does not fsync every
  // handshake step (a session lost to a power cut only makes the guest re-handshake), so that
  // session traffic never grows the file holding secrets. Memory must stay shared.
  const sessionType = config.sessionStorageType ?? config.storage.storageType;
  const sessionConfig = { ...config.storage, sqlite: { path: sessionDatabasePath(config.storage.sqlite.path) } };
  const sessionStore =
    options.store === undefined && (config.sessionStorageType !== undefined || sessionType === 'Sqlite')
      ? openStore(sessionConfig, { now, storageType: sessionType, ephemeral: true })
      : store;

  const closers: Array<() => Promise<void> | void> = [];
  const readiness = new Readiness([storeCheck('storage', store)]);
  if (sessionStore !== store) readiness.add(storeCheck('session storage', sessionStore));
  const start = startContext(options, readiness, closers);
  let sessions: SessionManager | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  try {
    const attestation = await createAttestationBackend(config, store, clock, start, options.log ?? silentLogger);
    const tokenVerifier = await createTokenVerifier(config.attestationToken, clock);
    if (config.attestationService.type !== 'none') {
      const { limits } = config.httpServer;
      sessions = new SessionManager(sessionStore, {
        timeoutMinutes: config.attestationService.timeoutMinutes,
        now,
        maxSessions: options.maxSessions ?? limits.maxSessions,
        maxSessionsPerClient: limits.maxSessionsPerIp,
        maxSessionBytes: limits.maxSessionStorageMiB * 1024 * 1024,
      });
      // Upstream sweeps expired sessions every 60 s. Listing does it for Memory/LocalFs/LocalJson
      // (they drop expired keys as they meet them); SqliteStore has its own sweeper as well.
      sweeper = setInterval(() => {
        sessionStore.list(SESSION_NAMESPACE).catch(() => undefined);
      }, 60_000);
      sweeper.unref();
    }
    return await composeRoutes(config, options, { now, store, sessionStore, attestation, sessions, tokenVerifier, sweeper, closers, start });
  } catch (error) {
    clearInterval(sweeper);
    sessions?.close();
    for (const close of closers.reverse()) await close();
    throw error;
  }
}

/** The SQLite file for RCAR sessions beside the main database: `dir/kbs.sqlite` → `dir/kbs.sessions.sqlite`. */
export function sessionDatabasePath(path: string): string {
  return siblingDatabasePath(path, 'sessions');
}

/** A SQLite file beside the main database: `dir/kbs.sqlite` → `dir/kbs.<tag>.sqlite`. */
export function siblingDatabasePath(path: string, tag: string): string {
  if (path === ':memory:') return path;
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  return dot > slash + 1 ? `${path.slice(0, dot)}.${tag}${path.slice(dot)}` : `${path}.${tag}`;
}

/**
 * The attestation backend `[attestation_service]` names: the builtin AS (its RVPS built in or,
 * with `rvps_config.type = "GrpcRemote"`, a remote RVPS process), a remote AS over gRPC, or
 * none (passport resource KBS). Remote peers are not awaited: the microservices layout may start
 * in any order; readiness reports them until they answer.
 */
async function createAttestationBackend(config: KbsConfig, store: KeyValueStore, clock: { now: () => Date }, start: StartContext, log: Logger): Promise<AttestationBackend | undefined> {
  const { closers, readiness } = start;
  const section = config.attestationService;
  if (section.type === 'none') return undefined;
  if (section.type === 'coco_as_grpc') {
    let rootCerts: Buffer | undefined;
    if (section.grpc.caCertPath !== undefined) {
      const path = section.grpc.caCertPath;
      rootCerts = await readFile(path).catch(() => {
        throw new ConfigError(`attestation_service.ca_cert_path: cannot read ${path}`);
      });
    }
    const remote = createGrpcAttestationBackend({ asAddr: section.grpc.asAddr, poolSize: section.grpc.poolSize, ...(rootCerts === undefined ? {} : { rootCerts }) });
    closers.push(() => remote.close());
    readiness.add({ name: `attestation service ${remote.address}`, check: () => remote.health(1500) });
    return remote;
  }

  const [{ createAttestationService }, { createBuiltinRvps, createGrpcRvpsClient }] = await Promise.all([import('@trustee/attestation'), import('@trustee/rvps-core')]);
  const attestationConfig = section.core;
  let referenceValues: ReferenceValueProvider | undefined;
  if (attestationConfig.rvps.type === 'GrpcRemote') {
    const rvps = createGrpcRvpsClient({ address: attestationConfig.rvps.address });
    closers.push(() => rvps.close());
    readiness.add({ name: `reference value provider ${rvps.address}`, check: () => rvps.health(1500) });
    referenceValues = rvps;
  } else if (attestationConfig.rvps.storageType !== undefined && attestationConfig.rvps.storageType !== config.storage.storageType) {
    // Upstream's `rvps_config.storage_type`: the builtin RVPS keeps its values in another store of [storage_backend].
    const rvpsStore = openStore(config.storage, { storageType: attestationConfig.rvps.storageType, now: () => clock.now().getTime() });
    closers.push(() => rvpsStore.close());
    readiness.add(storeCheck('reference value storage', rvpsStore));
    referenceValues = createBuiltinRvps(rvpsStore, clock);
  }
  // Loads (or creates) the token signer key and stores the default policies: needs the store.
  const service = await start.begin('attestation service', () =>
    // The builtin AS logs through the KBS's logger (e.g. a token signer whose certificate does not certify its key).
    createAttestationService({ store, config: attestationConfig, ...clock, log, ...(referenceValues === undefined ? {} : { referenceValues }) }),
  );
  return {
    evaluate: (requests, policyIds, requestLog) => service.require().evaluate(requests, policyIds, requestLog === undefined ? {} : { log: requestLog }),
    setPolicy: (id, source) => service.require().setPolicy(id, source),
    registerReferenceValue: (message) => service.require().registerReferenceValue(message),
    queryReferenceValue: (id) => service.require().queryReferenceValue(id),
  };
}

interface ComposedCore {
  readonly now: () => number;
  readonly store: KeyValueStore;
  readonly sessionStore: KeyValueStore;
  readonly attestation: AttestationBackend | undefined;
  readonly sessions: SessionManager | undefined;
  readonly tokenVerifier: TokenVerifier;
  readonly sweeper: NodeJS.Timeout | undefined;
  readonly closers: Array<() => Promise<void> | void>;
  readonly start: StartContext;
}

async function composeRoutes(config: KbsConfig, options: ComposeOptions, core: ComposedCore): Promise<ComposedKbs> {
  const { now, store, sessionStore, attestation, sessions, tokenVerifier, sweeper, closers, start } = core;
  const policy = new ResourcePolicy(store);
  await start.begin('default resource policy', () => policy.installDefault());
  // Decision records are diagnostics written on every release, not admin writes: on SQLite they
  // live in a file of their own beside the main one (kbs.sqlite → kbs.decisions.sqlite, shared by
  // workers and replicas like the session file) that does not fsync each record
  // (synchronous=NORMAL: a power cut may lose the last records, never corrupt the file). The main
  // file then only changes on admin writes, so the policy and resource reads of every request
  // keep SQLite's page cache instead of re-reading pages another connection's writes invalidated.
  const decisionStore =
    options.store === undefined && config.storage.storageType === 'Sqlite'
      ? openStore({ ...config.storage, sqlite: { path: siblingDatabasePath(config.storage.sqlite.path, 'decisions') } }, { now, ephemeral: true })
      : store;
  if (decisionStore !== store) closers.push(() => decisionStore.close());
  const selector = new AttestationPolicySelector(config.attestationService.type === 'none' ? undefined : config.attestationService.policyIdMap);
  const policies = new ResourcePolicies(policy, new ScopedPolicyStore(store), new DecisionLog(decisionStore), {
    onRecordError: (error, requestLog) => {
      const log: Logger = requestLog ?? options.log ?? silentLogger;
      log.warn(`policy decision not recorded: ${(error as Error).message}`);
    },
  });
  const admin = await createAdminAuthorizer(config.admin, now);

  const plugins = new Map<string, KbsPlugin>();
  const pluginStores: KeyValueStore[] = [];
  let consoleResources: ConsoleDeps['resources'];
  for (const plugin of config.plugins) {
    if (plugin.name === 'sample') plugins.set('sample', new SamplePlugin());
    else if (plugin.backend === 'AzureKeyVault') {
      const akvStore = openAkvStore(plugin.akv, { now, ...(options.akv === undefined ? {} : { overrides: options.akv }), log: options.log ?? silentLogger });
      pluginStores.push(akvStore);
      plugins.set('resource', new ResourcePlugin(new ResourceRepository({ store: akvStore })));
    } else if (plugin.backend === 'kvstorage') {
      const treeRoot = repositoryTreeRoot(config.storage);
      const repository = new ResourceRepository({ store, ...(treeRoot === undefined ? {} : { treeRoot }) });
      consoleResources = { namespace: REPOSITORY_NAMESPACE, read: (path) => repository.read(path) };
      plugins.set('resource', new ResourcePlugin(repository));
    } else plugins.set('resource', new ResourcePlugin(new ResourceRepository({ treeRoot: plugin.dirPath })));
  }

  let https: (TlsServerOptions & { key: Buffer; cert: Buffer }) | undefined;
  if (!config.httpServer.insecureHttp) {
    const { privateKey, certificate } = config.httpServer;
    if (privateKey === undefined || certificate === undefined) throw new ConfigError('http_server: Missing certificate or private key');
    const { profile: _profile, ...tls } = config.httpServer.tls;
    https = {
      ...tls,
      key: await readFile(privateKey).catch(() => {
        throw new ConfigError(`http_server.private_key: cannot read ${privateKey}`);
      }),
      cert: await readFile(certificate).catch(() => {
        throw new ConfigError(`http_server.certificate: cannot read ${certificate}`);
      }),
    };
  }

  const metrics = new KbsMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  if (sessions !== undefined) metrics.trackSessions(() => sessions.stats());
  const { limits } = config.httpServer;
  const authRateLimiter = limits.authRatePerIp > 0 ? new PerIpRateLimiter({ perSecond: limits.authRatePerIp, burst: limits.authBurstPerIp, now }) : undefined;
  const auditStore = config.audit.enabled ? (options.store === undefined ? openAuditStore(config.storage, store, now) : { store, owned: false }) : undefined;
  if (auditStore?.owned === true) closers.push(() => auditStore.store.close());
  const audit =
    auditStore === undefined
      ? undefined
      : createAuditRecorder(config.audit, auditStore.store, { now, mainStore: store, builtinAttestationService: config.attestationService.type === 'coco_as_builtin', log: (message) => (options.log ?? silentLogger).warn(message) });
  const apps = config.httpServer.sockets.map(() =>
    buildKbsServer({
      attestation: attestation === undefined || sessions === undefined ? undefined : { backend: attestation, sessions, selector },
      tokenVerifier,
      policy,
      policies,
      admin,
      plugins,
      metrics,
      bodyLimitBytes: config.httpServer.payloadRequestSizeMiB * 1024 * 1024,
      ...(options.log === undefined ? {} : { log: options.log }),
      https,
      authRateLimiter,
      readiness: start.readiness,
      extensions: [
        ...(audit === undefined ? [] : [(app: FastifyInstance) => audit.register(app)]),
        (app: FastifyInstance) => registerConsole(app, { admin, store, auditStore: auditStore?.store ?? store, policies, metrics, readiness: start.readiness, audit, resources: consoleResources, now }),
      ],
    }),
  );
  const connections = (app: FastifyInstance): Promise<number> => new Promise((resolve) => app.server.getConnections((error, count) => resolve(error === null ? count : 0)));
  metrics.trackConnections(async () => (await Promise.all(apps.map(connections))).reduce((sum, count) => sum + count, 0));

  return {
    apps,
    store,
    policy,
    sessions,
    attestation,
    tokenVerifier,
    readiness: start.readiness,
    audit,
    async close() {
      clearInterval(sweeper);
      sessions?.close();
      await Promise.all(apps.map((app) => app.close()));
      await audit?.trail.flush();
      for (const close of [...closers].reverse()) await close();
      await Promise.all(pluginStores.map((pluginStore) => pluginStore.close()));
      if (sessionStore !== store) await sessionStore.close();
      if (options.store === undefined) await store.close();
    },
  };
}
