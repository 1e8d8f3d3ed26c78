/**
 * Prometheus metrics, prefixed `trustee_kbs_`: RED per protocol step (rate, errors by status,
 * duration) plus attestation outcomes per TEE and resource-policy decisions. Route labels are
 * a closed set so a hostile path cannot create unbounded series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type RouteLabel =
  | 'auth'
  | 'attest'
  | 'attestation-policy'
  | 'resource-policy'
  | 'reference-value'
  | 'plugin'
  | 'metrics'
  | 'healthz'
  | 'readyz'
  | 'other';

export class KbsMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #duration: Histogram<'route'>;
  readonly #attestations: Counter<'tee' | 'outcome'>;
  readonly #policy: Counter<'result'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'trustee_kbs_' });
    this.#requests = new Counter({
      name: 'trustee_kbs_http_requests_total',
      help: 'HTTP requests by protocol step, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'trustee_kbs_http_request_duration_seconds',
      help: 'HTTP request duration by protocol step.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.#attestations = new Counter({
      name: 'trustee_kbs_attestations_total',
      help: 'RCAR attestations by TEE and outcome (success, failure, replayed).',
      labelNames: ['tee', 'outcome'],
      registers: [this.registry],
    });
    this.#policy = new Counter({
      name: 'trustee_kbs_resource_policy_evaluations_total',
      help: 'Resource policy decisions (allow, deny, error).',
      labelNames: ['result'],
      registers: [this.registry],
    });
  }

  observeRequest(route: RouteLabel, method: string, status: number, seconds: number): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#duration.observe({ route }, seconds);
  }

  attestation(tee: string, outcome: 'success' | 'failure' | 'replayed'): void {
    this.#attestations.inc({ tee, outcome });
  }

  policyDecision(result: 'allow' | 'deny' | 'error'): void {
    this.#policy.inc({ result });
  }

  /** Session footprint gauges, read from `stats` at scrape time (this process's sessions). */
  trackSessions(stats: () => { readonly open: number; readonly openBytes: number; readonly attestedCached: number }): void {
    const gauge = (name: string, help: string, read: (value: ReturnType<typeof stats>) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(stats()));
        },
      });
    };
    gauge('trustee_kbs_sessions_open', 'Unexpired RCAR sessions this process opened.', (value) => value.open);
    gauge('trustee_kbs_sessions_open_bytes', 'Stored bytes of the unexpired sessions this process opened.', (value) => value.openBytes);
    gauge('trustee_kbs_sessions_attested_cached', 'Attested sessions held in memory.', (value) => value.attestedCached);
  }
}
