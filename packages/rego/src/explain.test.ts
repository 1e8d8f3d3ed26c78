/**
 * Invariant: an explanation names, per rule body, whether it held and otherwise the first
 * literal (in evaluation order) that failed, with the values its operands had; nested rule
 * references are explained in turn; every value is bounded; budget errors stay typed.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, RegoError } from './index.ts';

const POLICY = `package policy

default allow := false

allow if {
  input.submods.cpu0["ear.status"] == "affirming"
  data.plugin == "resource"
  team_ok
}

allow if {
  input.debug == true
  input.role == "admin"
}

team_ok if {
  data["resource-path"][0] == input.team
}
`;

const data = { plugin: 'resource', 'resource-path': ['acme', 'keys', 'one'], query: {} };

describe('explainRule', () => {
  it('names the failing literal and the values it compared, per body', () => {
    const policy = compilePolicy(POLICY);
    const input = { submods: { cpu0: { 'ear.status': 'warning' } }, team: 'acme' };
    const explanation = policy.explainRule('data.policy.allow', { input, data });
    expect(explanation).toBeDefined();
    expect(explanation?.rule).toBe('data.policy.allow');
    expect(explanation?.value).toBe(false);
    expect(explanation?.defaultValue).toBe(false);
    expect(explanation?.bodies).toHaveLength(2);
    const [first, second] = explanation?.bodies ?? [];
    expect(first?.held).toBe(false);
    expect(first?.location).toBe('policy.rego:5:1');
    expect(first?.failed?.expression).toBe('input.submods.cpu0["ear.status"] == "affirming"');
    expect(first?.failed?.location).toBe('policy.rego:6:3');
    expect(first?.failed?.source).toBe('input.submods.cpu0["ear.status"] == "affirming"');
    expect(first?.failed?.values).toEqual([{ expression: 'input.submods.cpu0["ear.status"]', defined: true, value: 'warning' }]);
    expect(second?.failed?.expression).toBe('input.debug == true');
    expect(second?.failed?.values).toEqual([{ expression: 'input.debug', defined: false }]);
  });

  it('explains a referenced rule that failed', () => {
    const policy = compilePolicy(POLICY);
    const input = { submods: { cpu0: { 'ear.status': 'affirming' } }, team: 'other' };
    const explanation = policy.explainRule('data.policy.allow', { input, data });
    const failed = explanation?.bodies[0]?.failed;
    expect(failed?.expression).toBe('data.policy.team_ok');
    expect(failed?.because?.[0]?.rule).toBe('data.policy.team_ok');
    expect(failed?.because?.[0]?.defined).toBe(false);
    const inner = failed?.because?.[0]?.bodies[0]?.failed;
    expect(inner?.expression).toBe('data["resource-path"][0] == input.team');
    expect(inner?.values).toEqual([
      { expression: 'data["resource-path"][0]', defined: true, value: 'acme' },
      { expression: 'input.team', defined: true, value: 'other' },
    ]);
  });

  it('reports a held body and the rule value', () => {
    const policy = compilePolicy(POLICY);
    const input = { submods: { cpu0: { 'ear.status': 'affirming' } }, team: 'acme' };
    const explanation = policy.explainRule('data.policy.allow', { input, data });
    expect(explanation?.value).toBe(true);
    expect(explanation?.bodies[0]).toEqual({ location: 'policy.rego:5:1', held: true });
  });

  it('bounds reported values and the number of bodies', () => {
    const policy = compilePolicy('package policy\nallow if input.blob == "x"\nallow if input.a == 1\nallow if input.b == 2\n');
    const explanation = policy.explainRule('data.policy.allow', { input: { blob: 'y'.repeat(10_000) } }, { maxValueChars: 64, maxBodies: 2 });
    const value = explanation?.bodies[0]?.failed?.values[0];
    expect(value?.truncated).toBe(true);
    expect(typeof value?.value === 'string' && value.value.length).toBeLessThanOrEqual(65);
    expect(explanation?.bodies).toHaveLength(2);
    expect(explanation?.truncated).toBe(true);
  });

  it('is undefined for a missing rule, and a budget overrun stays a RegoError', () => {
    const policy = compilePolicy('package policy\nallow if { some i in numbers.range(1, 100000000); i < 0 }\n');
    expect(policy.explainRule('data.policy.nothing', {})).toBeUndefined();
    expect(() => policy.explainRule('data.policy.allow', { maxSteps: 10_000 })).toThrow(RegoError);
  });

  it('explains `not`, `every`, `some … in` and builtin calls', () => {
    const policy = compilePolicy(`package policy
import rego.v1
default allow := false
allow if {
  not input.debug
  every s in input.submods { s.status == "ok" }
}
allow if {
  some k in input.keys
  k == "x"
}
allow if {
  startswith(input.name, "acme-")
  count(input.list) > 2
}
`);
    const input = { debug: false, submods: [{ status: 'bad' }], keys: ['a'], name: 'acme-1', list: [1] };
    const bodies = policy.explainRule('data.policy.allow', { input })?.bodies ?? [];
    expect(bodies.map((b) => b.failed?.expression)).toEqual(['every s in input.submods { … }', 'k == "x"', 'count(input.list) > 2']);
    expect(bodies[0]?.failed?.values).toEqual([{ expression: 'input.submods', defined: true, value: [{ status: 'bad' }] }]);
    expect(bodies[1]?.failed?.values).toEqual([{ expression: 'k', defined: true, value: 'a' }]);
    expect(bodies[2]?.failed?.values).toEqual([{ expression: 'count(input.list)', defined: true, value: 1 }]);
    const debug = policy.explainRule('data.policy.allow', { input: { ...input, debug: true } })?.bodies[0]?.failed;
    expect(debug?.expression).toBe('not input.debug');
    expect(debug?.values).toEqual([{ expression: 'input.debug', defined: true, value: true }]);
  });
});
