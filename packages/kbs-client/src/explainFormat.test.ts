/**
 * Invariant: the explain/dry-run text shows the verdict, each policy, each body held/failed with
 * its failing expression and compared values; nested rules are indented under their expression;
 * terminal control characters from the KBS never reach the terminal; odd shapes do not throw.
 */
import { expect, test } from 'vitest';
import { formatDryRun, formatExplanation } from './explainFormat.ts';

test('explanation text', () => {
  const text = formatExplanation({
    decision_id: 'd-abc-0123456789ab',
    resource: 'resource/acme/keys/one',
    allowed: false,
    policies: [
      { policy: 'resource-policy', allowed: true, explanation: { rule: 'data.policy.allow', defined: true, value: true, bodies: [{ location: 'policy.rego:5:1', held: true }] } },
      {
        policy: 'scope:acme',
        allowed: false,
        explanation: {
          rule: 'data.policy.allow',
          defined: true,
          value: false,
          defaultValue: false,
          bodies: [
            {
              location: 'policy.rego:5:1',
              held: false,
              failed: {
                expression: 'data.policy.team_ok',
                location: 'policy.rego:6:3',
                values: [{ expression: 'data.policy.team_ok', defined: false }],
                because: [{ rule: 'data.policy.team_ok', defined: false, bodies: [{ location: 'policy.rego:9:1', held: false, failed: { expression: 'input.team == "acme"', location: 'policy.rego:10:3', values: [{ expression: 'input.team', defined: true, value: 'beta\u001b[31m' }] } }] }],
              },
            },
          ],
        },
      },
      { policy: 'scope:acme/keys', allowed: false, error: 'scoped policy acme/keys is not UTF-8' },
    ],
  });
  expect(text).toBe(
    [
      'resource/acme/keys/one: DENIED (decision d-abc-0123456789ab)',
      '  policy resource-policy: allow',
      '    data.policy.allow = true',
      '      body at policy.rego:5:1: held',
      '  policy scope:acme: deny',
      '    data.policy.allow = false (default false)',
      '      body at policy.rego:5:1: failed',
      '        failing expression: data.policy.team_ok   [policy.rego:6:3]',
      '          data.policy.team_ok = undefined',
      '          data.policy.team_ok = undefined',
      '            body at policy.rego:9:1: failed',
      '              failing expression: input.team == "acme"   [policy.rego:10:3]',
      '                input.team = "beta\\u001b[31m"',
      '  policy scope:acme/keys: deny',
      '    error: scoped policy acme/keys is not UTF-8',
      '',
    ].join('\n'),
  );
  expect(formatExplanation('odd')).toBe('"odd"\n');
  expect(() => formatExplanation({ policies: [1, null, { explanation: { bodies: [{ failed: { values: [3] } }] } }] })).not.toThrow();
});

test('dry-run text', () => {
  const text = formatDryRun({ read: 4, replayed: 3, skipped: 1, changed: [{ decision_id: 'd-x-000000000000', time: '2026-12-07T03:00:00.000Z', resource: 'resource/acme/keys/one', recorded: false, candidate: true }] });
  expect(text).toBe('dry run: 3 recorded decisions replayed (4 read, 1 without claims); 1 would change\n  2026-12-07T03:00:00.000Z  d-x-000000000000  resource/acme/keys/one: deny -> allow\n');
});
