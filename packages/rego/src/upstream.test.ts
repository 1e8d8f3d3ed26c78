// Invariant: the upstream Trustee policies parse and compile with this engine. Runs only when
// a local checkout is named by TRUSTEE_REPO (the upstream files are never copied into this repo).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './index.ts';

const repo = process.env['TRUSTEE_REPO'];
const files = [
  'attestation-service/src/ear_token/ear_default_policy_cpu.rego',
  'attestation-service/src/ear_token/ear_default_policy_gpu.rego',
  'attestation-service/src/ear_token/ear_default_policy_switch.rego',
  'attestation-service/src/ear_token/ear_default_policy_ppcie.rego',
  'kbs/sample_policies/default.rego',
  'kbs/sample_policies/allow_all.rego',
  'kbs/sample_policies/deny_all.rego',
  'kbs/sample_policies/affirming.rego',
];

describe.skipIf(repo === undefined || !existsSync(repo))('upstream trustee policies (TRUSTEE_REPO)', () => {
  it.each(files)('%s compiles and evaluates', (file) => {
    const path = join(repo as string, file);
    if (!existsSync(path)) return;
    const policy = compilePolicy(readFileSync(path, 'utf8'), { hostFunctions: { query_reference_value: () => null } });
    const rule = file.startsWith('kbs/') ? 'data.policy.allow' : 'data.policy.trust_claims';
    expect(policy.evaluateRule(rule, { input: {}, data: { plugin: 'resource' } })).toBeDefined();
  });
});
