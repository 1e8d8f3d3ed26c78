/**
 * Prometheus metrics, prefixed `trustee_rvps_`: requests per transport, operation and outcome
 * (the error code, or `ok`), their duration, and reference values written per extractor type.
 * Every label comes from a closed set, so hostile ids cannot create series.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RvpsErrorCode } from './errors.ts';

export type Transport = 'grpc' | 'rest';
export type Operation = 'register' | 'query' | 'list' | 'delete' | 'health';

export class RvpsMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'transport' | 'operation' | 'outcome'>;
  readonly #duration: Histogram<'transport' | 'operation'>;
  readonly #registered: Counter<'type'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'trustee_rvps_' });
    this.#requests = new Counter({
      name: 'trustee_rvps_requests_total',
      help: 'RVPS requests by transport, operation and outcome (ok or error code).',
      labelNames: ['transport', 'operation', 'outcome'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'trustee_rvps_request_duration_seconds',
      help: 'RVPS request duration by transport and operation.',
      labelNames: ['transport', 'operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    this.#registered = new Counter({
      name: 'trustee_rvps_registrations_total',
      help: 'Accepted registration messages by extractor type.',
      labelNames: ['type'],
      registers: [this.registry],
    });
  }

  observe(transport: Transport, operation: Operation, outcome: 'ok' | RvpsErrorCode, seconds: number): void {
    this.#requests.inc({ transport, operation, outcome });
    this.#duration.observe({ transport, operation }, seconds);
  }

  registered(type: 'sample' | 'swid' | 'corim' | 'other'): void {
    this.#registered.inc({ type });
  }
}
