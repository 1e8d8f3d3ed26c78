/**
 * Readiness of a service = every dependency it needs to answer a request (its store, a remote
 * AS or RVPS, initialisation that needs the store) answers now. Liveness (`/healthz`) stays a
 * plain "the process runs"; readiness (`/readyz`, gRPC health NOT_SERVING/SERVING) is what a
 * load balancer or Kubernetes readiness probe uses to take a replica out of rotation while its
 * database is away, and to put it back without a restart.
 *
 * Checks run with a deadline each and at most once per `cacheMs` (a probe storm from many
 * callers costs one round of checks), so a stopped dependency answers "not ready" within the
 * deadline instead of hanging the probe.
 */
import * as grpc from '@grpc/grpc-js';
import type { HealthCheckRequest, HealthCheckResponse } from './messages.ts';
import { TrusteeError } from '@trustee/errors';

/**
 * Channel options for clients of a peer service (KBS → AS, AS/KBS → RVPS). grpc-js backs off
 * reconnects up to 120 s by default, so a peer that comes back would be noticed minutes late;
 * capping the backoff at 2 s makes readiness and requests recover within seconds.
 */
export const PEER_CHANNEL_OPTIONS: Readonly<Record<string, number>> = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
};

/** One dependency: resolves when it answers, throws (with a message safe to show) otherwise. */
export interface DependencyCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface DependencyStatus {
  readonly name: string;
  readonly ready: boolean;
  /** Why not, when not ready (first 200 characters of the failure). */
  readonly error?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly dependencies: readonly DependencyStatus[];
}

export interface ReadinessOptions {
  /** Deadline of one check, default 2000 ms. */
  readonly timeoutMs?: number;
  /** A report is reused for this long, default 1000 ms. */
  readonly cacheMs?: number;
}

/** A service's dependency checks; `report()` is what /readyz and gRPC health answer from. */
export class Readiness {
  readonly #checks: DependencyCheck[] = [];
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  #last: { at: number; report: ReadinessReport } | undefined;
  #running: Promise<ReadinessReport> | undefined;

  constructor(checks: readonly DependencyCheck[] = [], options: ReadinessOptions = {}) {
    this.#checks.push(...checks);
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#cacheMs = options.cacheMs ?? 1000;
  }

  add(check: DependencyCheck): void {
    this.#checks.push(check);
    this.#last = undefined;
  }

  async report(): Promise<ReadinessReport> {
    if (this.#last !== undefined && performance.now() - this.#last.at < this.#cacheMs) return this.#last.report;
    this.#running ??= this.#runChecks().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runChecks(): Promise<ReadinessReport> {
    const dependencies = await Promise.all(this.#checks.map((check) => this.#runOne(check)));
    const report: ReadinessReport = { ready: dependencies.every((dependency) => dependency.ready), dependencies };
    this.#last = { at: performance.now(), report };
    return report;
  }

  async #runOne(check: DependencyCheck): Promise<DependencyStatus> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      await Promise.race([check.check(), deadline]);
      return { name: check.name, ready: true };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { name: check.name, ready: false, error: message.slice(0, 200) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Service name of the liveness check: SERVING whenever the process answers, whatever its
 * dependencies do (a Kubernetes `livenessProbe: grpc: {service: liveness}` must not restart a
 * replica because its database is away; the readiness probe with service "" takes it out of
 * rotation instead).
 */
export const LIVENESS_SERVICE = 'liveness';

/**
 * `grpc.health.v1.Health/Check` answered from a Readiness: SERVING when every dependency
 * answers, NOT_SERVING otherwise, NOT_FOUND for a service name this server does not have;
 * `liveness` is always SERVING.
 */
export function healthCheckHandler(
  services: readonly string[],
  readiness: Readiness,
  onCheck?: (status: HealthCheckResponse['status']) => void,
): grpc.handleUnaryCall<HealthCheckRequest, HealthCheckResponse> {
  return (call, callback) => {
    const service = call.request.service;
    if (service === LIVENESS_SERVICE) {
      callback(null, { status: 'SERVING' });
      return;
    }
    if (!services.includes(service)) {
      callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service.slice(0, 128))}` });
      return;
    }
    readiness.report().then(
      (report) => {
        const status = report.ready ? 'SERVING' : 'NOT_SERVING';
        onCheck?.(status);
        callback(null, { status });
      },
      (error: unknown) => callback({ code: grpc.status.INTERNAL, details: (error as Error).message }),
    );
  };
}

/** A request needed something that is not available yet or any more (the caller answers 503 / UNAVAILABLE). */
export class DependencyUnavailableError extends TrusteeError<'unavailable'> {
  readonly dependency: string;

  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
    this.dependency = dependency;
  }
}

export interface DeferredStartOptions {
  /** Failures worth retrying (a dependency that does not answer); anything else is fatal. */
  readonly isTransient: (error: unknown) => boolean;
  /** A retry failed with a non-transient error (e.g. a configuration error once the store answered). */
  readonly onFatal: (error: unknown) => void;
  /** First retry delay, doubled up to `maxRetryMs`; defaults 250 ms and 5000 ms. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** Told about each transient failure (logs). */
  readonly onRetry?: (error: unknown, delayMs: number) => void;
}

/**
 * Start-up work that needs a dependency (e.g. loading the token signer key from the store). The
 * first attempt runs during start: success → ready; a non-transient failure → thrown, so a bad
 * configuration still stops the process at once; a transient one → the service starts anyway,
 * reports not ready, and retries in the background until the dependency answers.
 */
export class DeferredStart<T> {
  readonly name: string;
  #value: { readonly value: T } | undefined;
  #lastError: unknown;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(name: string) {
    this.name = name;
  }

  static async begin<T>(name: string, init: () => Promise<T>, options: DeferredStartOptions): Promise<DeferredStart<T>> {
    const deferred = new DeferredStart<T>(name);
    try {
      deferred.#value = { value: await init() };
    } catch (error) {
      if (!options.isTransient(error)) throw error;
      deferred.#lastError = error;
      deferred.#schedule(init, options, options.retryMs ?? 250);
    }
    return deferred;
  }

  #schedule(init: () => Promise<T>, options: DeferredStartOptions, delayMs: number): void {
    if (this.#closed) return;
    options.onRetry?.(this.#lastError, delayMs);
    this.#timer = setTimeout(() => {
      init().then(
        (value) => {
          this.#value = { value };
          this.#lastError = undefined;
        },
        (error: unknown) => {
          if (this.#closed) return;
          this.#lastError = error;
          if (options.isTransient(error)) this.#schedule(init, options, Math.min(delayMs * 2, options.maxRetryMs ?? 5000));
          else options.onFatal(error);
        },
      );
    }, delayMs);
    this.#timer.unref();
  }

  get ready(): boolean {
    return this.#value !== undefined;
  }

  /** The started value, or DependencyUnavailableError while the start is still being retried. */
  require(): T {
    if (this.#value !== undefined) return this.#value.value;
    const cause = this.#lastError;
    throw new DependencyUnavailableError(this.name, `${this.name} is not started yet: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }

  /** Readiness: ready once the start succeeded. */
  get check(): DependencyCheck {
    return {
      name: this.name,
      check: async () => {
        this.require();
      },
    };
  }

  /** Stops retrying. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
