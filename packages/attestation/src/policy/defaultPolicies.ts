import { readFileSync } from 'node:fs';

/**
 * The default appraisal policies stored at startup with overwrite=false (a user-modified
 * `default_cpu` survives restarts; upgrades never replace it). They are trustee-ts's own Rego
 * with upstream's rule structure, reference-value ids and AR4SI values, so reference values and
 * policies written for upstream behave the same.
 */
export const DEFAULT_POLICY_IDS = ['default_cpu', 'default_gpu', 'default_switch', 'default_ppcie'] as const;
export type DefaultPolicyId = (typeof DEFAULT_POLICY_IDS)[number];

let cache: Readonly<Record<DefaultPolicyId, string>> | undefined;

export function defaultPolicies(): Readonly<Record<DefaultPolicyId, string>> {
  cache ??= Object.fromEntries(DEFAULT_POLICY_IDS.map((id) => [id, readFileSync(new URL(`./defaults/${id}.rego`, import.meta.url), 'utf8')])) as Record<
    DefaultPolicyId,
    string
  >;
  return cache;
}
