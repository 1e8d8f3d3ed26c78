/**
 * Prometheus metrics under upstream's names (kbs/src/prometheus/mod.rs: `kbs_http_*`,
 * `kbs_auth_*`, `kbs_attestation_*`, `kbs_policy_*`, `kbs_build_info`), so upstream's dashboards
 * and alerts work unchanged, and ours beside them where upstream has none (`kbs_http_requests_total`
 * and the duration histogram carry route/method/status labels; replayed attestations; session
 * footprint; process metrics). Label values are closed sets or TEE names, so a hostile path
 * cannot create unbounded series — which is why upstream's per-`resource_path` counters are not
 * kept (services/kbs/README.md "Metrics").
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

/** Upstream's size buckets: 32 B × 4ⁿ, five of them. */
const SIZE_BUCKETS = [32, 128, 512, 2048, 8192];

export interface BuildInfo {
  readonly version: string;
  readonly gitHash: string;
  readonly buildDate: string;
}

export class KbsMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #duration: Histogram<'route'>;
  readonly #requestSize: Histogram;
  readonly #responseSize: Histogram;
  readonly #authRequests: Counter;
  readonly #authSuccesses: Counter;
  readonly #authErrors: Counter;
  readonly #attestationRequests: Counter;
  readonly #attestationSuccesses: Counter<'tee_type'>;
  readonly #attestationFailures: Counter<'tee_type'>;
  readonly #attestationErrors: Counter;
  readonly #attestationReplays: Counter;
  readonly #policyEvaluations: Counter;
  readonly #policyApprovals: Counter;
  readonly #policyViolations: Counter;
  readonly #policyErrors: Counter;

  constructor(options: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'kbs_' });
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    this.#requests = new Counter({ name: 'kbs_http_requests_total', help: 'HTTP requests by protocol step, method and status code.', labelNames: ['route', 'method', 'status'], registers });
    this.#duration = new Histogram({
      name: 'kbs_http_request_duration_seconds',
      help: 'HTTP request duration by protocol step.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#requestSize = new Histogram({ name: 'kbs_http_request_size_bytes', help: 'Distribution of request body sizes.', buckets: SIZE_BUCKETS, registers });
    this.#responseSize = new Histogram({ name: 'kbs_http_response_size_bytes', help: 'Distribution of response body sizes.', buckets: SIZE_BUCKETS, registers });
    this.#authRequests = counter('kbs_auth_requests_total', 'Total count of auth requests.');
    this.#authSuccesses = counter('kbs_auth_successes_total', 'Total count of auth requests answered with a challenge.');
    this.#authErrors = counter('kbs_auth_errors_total', 'Total count of auth requests refused or failed.');
    this.#attestationRequests = counter('kbs_attestation_requests_total', 'Total count of attestation requests.');
    this.#attestationSuccesses = new Counter({ name: 'kbs_attestation_successes_total', help: 'Total count of attestation successes.', labelNames: ['tee_type'], registers });
    this.#attestationFailures = new Counter({ name: 'kbs_attestation_failures_total', help: 'Total count of attestation failures (evidence refused).', labelNames: ['tee_type'], registers });
    this.#attestationErrors = counter('kbs_attestation_errors_total', 'Total count of attestation requests that failed inside the KBS or its services (5xx).');
    this.#attestationReplays = counter('kbs_attestation_replays_total', 'Attest requests answered with the session\'s stored token (ours).');
    this.#policyEvaluations = counter('kbs_policy_evaluations_total', 'Total count of resource policy evaluations.');
    this.#policyApprovals = counter('kbs_policy_approvals_total', 'Total count of requests approved by the resource policy.');
    this.#policyViolations = counter('kbs_policy_violations_total', 'Total count of requests denied by the resource policy.');
    this.#policyErrors = counter('kbs_policy_errors_total', 'Total count of errors during resource policy evaluation.');
    const build = options.build ?? { version: '0.1.0', gitHash: process.env['KBS_GIT_HASH'] ?? 'unknown', buildDate: process.env['KBS_BUILD_DATE'] ?? 'unknown' };
    new Gauge({ name: 'kbs_build_info', help: 'KBS build info.', labelNames: ['version', 'git_hash', 'build_date'], registers }).set({ version: build.version, git_hash: build.gitHash, build_date: build.buildDate }, 1);
  }

  /** One answered request; the byte counts are the bodies' (Content-Length, 0 when absent). */
  observeRequest(route: RouteLabel, method: string, status: number, seconds: number, bytes: { readonly request?: number; readonly response?: number } = {}): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#duration.observe({ route }, seconds);
    this.#requestSize.observe(bytes.request ?? 0);
    this.#responseSize.observe(bytes.response ?? 0);
    if (route === 'auth') {
      this.#authRequests.inc();
      (status === 200 ? this.#authSuccesses : this.#authErrors).inc();
    } else if (route === 'attest') {
      this.#attestationRequests.inc();
      if (status >= 500) this.#attestationErrors.inc();
    }
  }

  attestation(tee: string, outcome: 'success' | 'failure' | 'replayed'): void {
    if (outcome === 'success') this.#attestationSuccesses.inc({ tee_type: tee });
    else if (outcome === 'failure') this.#attestationFailures.inc({ tee_type: tee });
    else this.#attestationReplays.inc();
  }

  policyDecision(result: 'allow' | 'deny' | 'error'): void {
    this.#policyEvaluations.inc();
    ({ allow: this.#policyApprovals, deny: this.#policyViolations, error: this.#policyErrors })[result].inc();
  }

  /** `kbs_http_active_connections`, read from `count` at scrape time. */
  trackConnections(count: () => Promise<number>): void {
    new Gauge({
      name: 'kbs_http_active_connections',
      help: 'Count of HTTP connections open at the moment.',
      registers: [this.registry],
      async collect() {
        this.set(await count());
      },
    });
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
    gauge('kbs_sessions_open', 'Unexpired RCAR sessions this process opened.', (value) => value.open);
    gauge('kbs_sessions_open_bytes', 'Stored bytes of the unexpired sessions this process opened.', (value) => value.openBytes);
    gauge('kbs_sessions_attested_cached', 'Attested sessions held in memory.', (value) => value.attestedCached);
  }
}
