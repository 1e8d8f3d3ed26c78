// Invariant: the bundled resource policies mean what their flags say when the KBS
// evaluates `data.policy.allow` with token claims as input and the request as data.
import { describe, expect, it } from 'vitest';
import { compilePolicy, type RegoJson } from '@trustee/rego';
import { AFFIRMING_RESOURCE_POLICY, ALLOW_ALL_RESOURCE_POLICY, DEFAULT_RESOURCE_POLICY, DENY_ALL_RESOURCE_POLICY } from './resourcePolicies.ts';

function ear(submods: Record<string, { status: string; sample?: boolean }>): RegoJson {
  return {
    submods: Object.fromEntries(
      Object.entries(submods).map(([name, { status, sample }]) => [
        name,
        { 'ear.status': status, 'ear.veraison.annotated-evidence': sample === true ? { sample: { svn: '1', debug: false } } : { snp: { measurement: 'ab' } } },
      ]),
    ),
  };
}

const resource = { plugin: 'resource', 'resource-path': ['default', 'key', 'testfile'], query: {} };
const otherPlugin = { plugin: 'nebula-ca', 'resource-path': ['credential'], query: {} };
const sampleToken = ear({ cpu0: { status: 'affirming', sample: true } });
const hardwareToken = ear({ cpu0: { status: 'affirming' } });
const warningToken = ear({ cpu0: { status: 'affirming' }, gpu0: { status: 'warning' } });

function allow(policy: string, input: RegoJson, data: RegoJson): boolean {
  return compilePolicy(policy).evaluateRule('data.policy.allow', { input, data }) === true;
}

describe('bundled resource policies', () => {
  it.each<[string, string, RegoJson, RegoJson, boolean]>([
    ['allow-all', ALLOW_ALL_RESOURCE_POLICY, sampleToken, resource, true],
    ['allow-all', ALLOW_ALL_RESOURCE_POLICY, hardwareToken, otherPlugin, false],
    ['deny-all', DENY_ALL_RESOURCE_POLICY, hardwareToken, resource, false],
    ['default', DEFAULT_RESOURCE_POLICY, hardwareToken, resource, true],
    ['default', DEFAULT_RESOURCE_POLICY, sampleToken, resource, false],
    ['default', DEFAULT_RESOURCE_POLICY, hardwareToken, otherPlugin, false],
    // No cpu0 appraisal (device evidence only, or no submods at all): denied.
    ['default', DEFAULT_RESOURCE_POLICY, {}, resource, false],
    ['default', DEFAULT_RESOURCE_POLICY, ear({ gpu0: { status: 'affirming' } }), resource, false],
    ['default', DEFAULT_RESOURCE_POLICY, warningToken, resource, true],
    ['affirming', AFFIRMING_RESOURCE_POLICY, hardwareToken, resource, true],
    ['affirming', AFFIRMING_RESOURCE_POLICY, sampleToken, resource, true],
    ['affirming', AFFIRMING_RESOURCE_POLICY, warningToken, resource, false],
    ['affirming', AFFIRMING_RESOURCE_POLICY, ear({ cpu0: { status: 'contraindicated' } }), resource, false],
    ['affirming', AFFIRMING_RESOURCE_POLICY, { submods: {} }, resource, false],
    ['affirming', AFFIRMING_RESOURCE_POLICY, {}, resource, false],
  ])('%s: case %#', (_name, policy, input, data, expected) => {
    expect(allow(policy, input, data)).toBe(expected);
  });

  it('all compile in Rego v0 mode as well', () => {
    for (const policy of [ALLOW_ALL_RESOURCE_POLICY, DENY_ALL_RESOURCE_POLICY, DEFAULT_RESOURCE_POLICY, AFFIRMING_RESOURCE_POLICY]) {
      expect(() => compilePolicy(policy, { regoVersion: 'v0' })).not.toThrow();
    }
  });
});
