/**
 * Resource policies bundled with the CLI (`config set-resource-policy --allow-all | --deny-all |
 * --affirming | --default`), written from the semantics of upstream trustee
 * `kbs/sample_policies/*.rego`; the default is also the one the KBS installs at first start. The
 * KBS evaluates `data.policy.allow` with the verified token claims as `input` and the request
 * (`plugin`, `resource-path`, `query`) as `data`. `import rego.v1` keeps them valid in both Rego v0
 * and v1 modes.
 */

/** Releases every resource of the `resource` plugin to any attested client. */
export const ALLOW_ALL_RESOURCE_POLICY = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
}
`;

/** Releases nothing. */
export const DENY_ALL_RESOURCE_POLICY = `package policy

import rego.v1

default allow := false
`;

/** Releases only when every appraised submodule has an affirming EAR status. */
export const AFFIRMING_RESOURCE_POLICY = `package policy

import rego.v1

default allow := false

allow if {
	count(input.submods) > 0
	every _, submod in input.submods {
		submod["ear.status"] == "affirming"
	}
}
`;

/**
 * The KBS built-in default: resources of the `resource` plugin to clients whose token has a CPU
 * appraisal (`cpu0`) made from real, not sample, evidence. Upstream's default
 * (upstream kbs/sample_policies/default.rego) tests `not input.submods.cpu0[...].sample`, and its release
 * needs the tee-pubkey under `submods.cpu0` (upstream kbs/src/token/mod.rs); here the `cpu0` requirement
 * is in the policy itself, so a token from device evidence alone is denied by policy.
 * (Upstream kbs-client's `--default` uploads deny-all by mistake; this one uploads the real default.)
 */
export const DEFAULT_RESOURCE_POLICY = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	input.submods.cpu0
	not sample_evidence
}

sample_evidence if {
	input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

export const BUNDLED_RESOURCE_POLICIES = {
  'allow-all': ALLOW_ALL_RESOURCE_POLICY,
  'deny-all': DENY_ALL_RESOURCE_POLICY,
  affirming: AFFIRMING_RESOURCE_POLICY,
  default: DEFAULT_RESOURCE_POLICY,
} as const;
