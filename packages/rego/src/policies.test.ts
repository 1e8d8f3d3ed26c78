// Invariant: the trustee-style policies (our own equivalents of the KBS resource policies and the
// AS default CPU appraisal policy: upstream trustee
// `attestation-service/src/ear_token/ear_default_policy_cpu.rego`, `kbs/sample_policies/*.rego`)
// decide exactly as the upstream engine would on realistic EAR claims.
import { describe, expect, it } from 'vitest';
import { compilePolicy, type RegoJson } from './index.ts';
import {
  CPU_APPRAISAL_POLICY,
  EAR_CLAIMS,
  KBS_AFFIRMING_POLICY,
  KBS_ALLOW_ALL_POLICY,
  KBS_DEFAULT_POLICY,
  KBS_DENY_ALL_POLICY,
  SNP_CLAIMS,
  SNP_REFERENCE_VALUES,
} from './testPolicies.ts';

const resourceData = { plugin: 'resource', 'resource-path': ['default', 'key', '1'], query: {} };
const sampleClaims = { submods: { cpu0: { 'ear.status': 'warning', 'ear.veraison.annotated-evidence': { sample: { svn: '1' } } } } };

describe('KBS resource policies', () => {
  it.each([
    ['default', KBS_DEFAULT_POLICY, EAR_CLAIMS, resourceData, true],
    ['default: sample TEE denied', KBS_DEFAULT_POLICY, sampleClaims, resourceData, false],
    ['default: other plugin denied', KBS_DEFAULT_POLICY, EAR_CLAIMS, { ...resourceData, plugin: 'nebula-ca' }, false],
    ['default: no data denied', KBS_DEFAULT_POLICY, EAR_CLAIMS, {}, false],
    ['allow_all', KBS_ALLOW_ALL_POLICY, sampleClaims, resourceData, true],
    ['allow_all: other plugin', KBS_ALLOW_ALL_POLICY, sampleClaims, { plugin: 'x' }, false],
    ['deny_all', KBS_DENY_ALL_POLICY, EAR_CLAIMS, resourceData, false],
    ['affirming', KBS_AFFIRMING_POLICY, EAR_CLAIMS, resourceData, true],
    ['affirming: warning denied', KBS_AFFIRMING_POLICY, sampleClaims, resourceData, false],
    ['affirming: no submods denied', KBS_AFFIRMING_POLICY, { submods: {} }, resourceData, false],
  ] as Array<[string, string, RegoJson, RegoJson, boolean]>)('%s', (_label, policy, input, data, expected) => {
    expect(compilePolicy(policy).evaluateRule('data.policy.allow', { input, data })).toBe(expected);
  });

  it('caches compiled policies by content hash', () => {
    const a = compilePolicy(KBS_DEFAULT_POLICY);
    const b = compilePolicy(KBS_DEFAULT_POLICY);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('default CPU appraisal policy (our equivalent)', () => {
  const rv =
    (values: Record<string, unknown>) =>
    (args: RegoJson[]): RegoJson =>
      (values[String(args[0])] as RegoJson | undefined) ?? null;
  const policy = (values: Record<string, unknown>) => compilePolicy(CPU_APPRAISAL_POLICY, { hostFunctions: { query_reference_value: rv(values) } });

  it('all reference values match → affirming vector', () => {
    expect(policy(SNP_REFERENCE_VALUES).evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS })).toEqual({
      configuration: 2,
      executables: 3,
      'file-system': 0,
      hardware: 2,
      'instance-identity': 0,
      'runtime-opaque': 0,
      'sourced-data': 0,
      'storage-opaque': 0,
    });
  });

  it('no reference values → defaults and the else branch', () => {
    const claims = policy({}).evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS }) as Record<string, RegoJson>;
    expect(claims['hardware']).toBe(97);
    expect(claims['executables']).toBe(33);
    expect(claims['configuration']).toBe(3);
  });

  it('a cross-type comparison against a wrapped RV is false, not an error', () => {
    const claims = policy({ ...SNP_REFERENCE_VALUES, snp_smt_enabled: [true] }).evaluateRule('data.policy.trust_claims', { input: SNP_CLAIMS }) as Record<string, RegoJson>;
    expect(claims['configuration']).toBe(3);
  });

  it('extensions use comprehensions, object.union_n and else', () => {
    expect(policy({}).evaluateRule('data.policy.extensions', { input: SNP_CLAIMS })).toEqual([
      { 'ear.trustee.identifiers': { images: ['registry.example/app:1', 'registry.example/sidecar:2'], tee: 'cpu' } },
    ]);
    expect(policy({}).evaluateRule('data.policy.extensions', { input: { snp: SNP_CLAIMS.snp } })).toEqual([]);
  });

  it('an absent rule is undefined', () => {
    expect(policy({}).evaluateRule('data.policy.nope', { input: SNP_CLAIMS })).toBeUndefined();
  });
});
