/**
 * Invariant: the KBS's metrics carry upstream's names and labels (kbs/src/prometheus/mod.rs) —
 * policy decisions split into evaluations/approvals/violations/errors, attestation outcomes per
 * `tee_type`, auth by answer — and ours stay beside them under the same `kbs_` prefix.
 */
import { expect, test } from 'vitest';
import { KbsMetrics } from './metrics.ts';

test('policy decisions, attestation outcomes, auth answers and connections under upstream names', async () => {
  const metrics = new KbsMetrics({ build: { version: '9.9.9', gitHash: 'abc', buildDate: 'today' } });
  for (const result of ['allow', 'allow', 'deny', 'error'] as const) metrics.policyDecision(result);
  metrics.attestation('snp', 'success');
  metrics.attestation('tdx', 'failure');
  metrics.attestation('snp', 'replayed');
  metrics.observeRequest('auth', 'POST', 200, 0.001, { request: 100, response: 50 });
  metrics.observeRequest('auth', 'POST', 400, 0.001);
  metrics.observeRequest('attest', 'POST', 503, 0.002);
  metrics.trackConnections(async () => 3);
  const text = await metrics.registry.metrics();
  for (const line of [
    'kbs_policy_evaluations_total 4',
    'kbs_policy_approvals_total 2',
    'kbs_policy_violations_total 1',
    'kbs_policy_errors_total 1',
    'kbs_attestation_successes_total{tee_type="snp"} 1',
    'kbs_attestation_failures_total{tee_type="tdx"} 1',
    'kbs_attestation_replays_total 1',
    'kbs_attestation_requests_total 1',
    'kbs_attestation_errors_total 1',
    'kbs_auth_requests_total 2',
    'kbs_auth_successes_total 1',
    'kbs_auth_errors_total 1',
    'kbs_http_request_size_bytes_bucket{le="128"} 3',
    'kbs_http_response_size_bytes_bucket{le="32"} 2',
    'kbs_http_active_connections 3',
    'kbs_build_info{version="9.9.9",git_hash="abc",build_date="today"} 1',
    'kbs_http_requests_total{route="attest",method="POST",status="503"} 1',
  ]) {
    expect(text).toContain(line);
  }
  expect(text).not.toMatch(/^trustee_/m);
});
