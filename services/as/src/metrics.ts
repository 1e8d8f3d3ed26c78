/**
 * Prometheus metrics, prefixed `trustee_as_`: attestations per TEE (duration histogram and
 * outcome counter), RPC/HTTP requests by method and status, and collateral lookups (VCEK, AMD
 * chain, Intel bundle) with their outcome and duration. Labels are closed sets (TEE names,
 * error codes, fixed routes) so hostile input cannot create unbounded series.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isTeeName, VerificationError, type CollateralSource, type FetchFunction, type Verifier } from '@trustee/verifiers';

export type CollateralKind = 'vcek' | 'amd_chain' | 'intel';

export class AsMetrics {
  readonly registry = new Registry();
  readonly #attestationDuration: Histogram<'tee' | 'outcome'>;
  readonly #attestations: Counter<'tee' | 'outcome'>;
  readonly #requests: Counter<'transport' | 'method' | 'code'>;
  readonly #collateral: Counter<'kind' | 'outcome'>;
  readonly #collateralDuration: Histogram<'kind'>;
  readonly #upstreamFetches: Counter<'service' | 'outcome'>;
  readonly #verifierDuration: Histogram<'tee' | 'outcome'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'trustee_as_' });
    this.#attestationDuration = new Histogram({
      name: 'trustee_as_verification_duration_seconds',
      help: 'Duration of one evaluate call (verify + appraise + sign) by primary TEE and outcome.',
      labelNames: ['tee', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.#attestations = new Counter({
      name: 'trustee_as_attestations_total',
      help: 'Evaluate calls by primary TEE and outcome (ok or the error code).',
      labelNames: ['tee', 'outcome'],
      registers: [this.registry],
    });
    this.#requests = new Counter({
      name: 'trustee_as_requests_total',
      help: 'gRPC calls and HTTP requests by transport, method/route and status code.',
      labelNames: ['transport', 'method', 'code'],
      registers: [this.registry],
    });
    this.#collateral = new Counter({
      name: 'trustee_as_collateral_lookups_total',
      help: 'Collateral lookups by kind and outcome (ok, error). Persistent-cache hits and misses are not told apart by the sources.',
      labelNames: ['kind', 'outcome'],
      registers: [this.registry],
    });
    this.#collateralDuration = new Histogram({
      name: 'trustee_as_collateral_lookup_duration_seconds',
      help: 'Collateral lookup duration by kind (cache hits are sub-millisecond, fetches are not).',
      labelNames: ['kind'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [this.registry],
    });
    this.#verifierDuration = new Histogram({
      name: 'trustee_as_verifier_duration_seconds',
      help: 'Duration of one verifier run (evidence → claims, collateral lookups included) by TEE and outcome (ok or the verification error code).',
      labelNames: ['tee', 'outcome'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.#upstreamFetches = new Counter({
      name: 'trustee_as_collateral_upstream_fetches_total',
      help: 'HTTP requests to AMD KDS / Intel PCS(PCCS) by service and status; collateral lookups not matched by a fetch were served from the caches.',
      labelNames: ['service', 'outcome'],
      registers: [this.registry],
    });
  }

  /** Counts what actually left the process: lookups minus these fetches are cache hits. */
  fetches(fetch: FetchFunction): FetchFunction {
    return async (url, init) => {
      const service = /\/(?:vcek|vlek)\/v1\//.test(url) ? 'kds' : 'pcs';
      try {
        const response = await fetch(url, init);
        this.#upstreamFetches.inc({ service, outcome: String(response.status) });
        return response;
      } catch (error) {
        this.#upstreamFetches.inc({ service, outcome: 'error' });
        throw error;
      }
    };
  }

  attestation(tee: string, outcome: string, seconds: number): void {
    const label = isTeeName(tee) ? tee : 'invalid';
    this.#attestations.inc({ tee: label, outcome });
    this.#attestationDuration.observe({ tee: label, outcome: outcome === 'ok' ? 'ok' : 'error' }, seconds);
  }

  request(transport: 'grpc' | 'http', method: string, code: string): void {
    this.#requests.inc({ transport, method, code });
  }

  /** Wraps a verifier so every run is timed under its TEE. */
  timeVerifier(verifier: Verifier): Verifier {
    const histogram = this.#verifierDuration;
    return {
      tee: verifier.tee,
      async evaluate(evidence, expected, context) {
        const started = process.hrtime.bigint();
        let outcome = 'ok';
        try {
          return await verifier.evaluate(evidence, expected, context);
        } catch (error) {
          outcome = error instanceof VerificationError ? error.code : 'error';
          throw error;
        } finally {
          histogram.observe({ tee: verifier.tee, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
        }
      },
    };
  }

  /** Wraps a collateral source so every lookup is counted and timed. */
  instrument(source: CollateralSource): CollateralSource {
    const time = async <T>(kind: CollateralKind, work: () => Promise<T>): Promise<T> => {
      const end = this.#collateralDuration.startTimer({ kind });
      try {
        const value = await work();
        this.#collateral.inc({ kind, outcome: 'ok' });
        return value;
      } catch (error) {
        this.#collateral.inc({ kind, outcome: 'error' });
        throw error;
      } finally {
        end();
      }
    };
    const { getVcek, getAmdCertChain, getIntelCollateral } = source;
    return {
      ...(getVcek === undefined ? {} : { getVcek: (product, chipId, tcb) => time('vcek', () => getVcek.call(source, product, chipId, tcb)) }),
      ...(getAmdCertChain === undefined ? {} : { getAmdCertChain: (product, kind) => time('amd_chain', () => getAmdCertChain.call(source, product, kind)) }),
      ...(getIntelCollateral === undefined ? {} : { getIntelCollateral: (request) => time('intel', () => getIntelCollateral.call(source, request)) }),
    };
  }
}
