/**
 * Our own Rego policies with the semantics of upstream trustee
 * `attestation-service/src/ear_token/ear_default_policy_cpu.rego` and `kbs/sample_policies/*.rego`
 * — written for this project, not copied from upstream. Used by the unit tests and the benchmark.
 */

/** KBS default resource policy: allow when the plugin is "resource" and the evidence is not the sample TEE. */
export const KBS_DEFAULT_POLICY = `package policy

default allow = false

plugin = data.plugin

allow if {
  plugin == "resource"
  not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

export const KBS_ALLOW_ALL_POLICY = `package policy

default allow = false

plugin = data.plugin

allow if {
  plugin == "resource"
}
`;

export const KBS_DENY_ALL_POLICY = `package policy

default allow = false
`;

/** Allow only when every submodule's EAR status is affirming (and there is at least one). */
export const KBS_AFFIRMING_POLICY = `package policy
import rego.v1

default allow := false

not_affirming if {
  some _, submod in input.submods
  submod["ear.status"] != "affirming"
}

allow if {
  count(input.submods) > 0
  not not_affirming
}
`;

/** A default-CPU-like appraisal policy (sample, snp, tdx), after `ear_default_policy_cpu.rego`. */
export const CPU_APPRAISAL_POLICY = `package policy
import rego.v1

default executables := 33
default hardware := 97
default configuration := 36
default file_system := 0
default instance_identity := 0
default runtime_opaque := 0
default storage_opaque := 0
default sourced_data := 0

trust_claims := {
  "executables": executables,
  "hardware": hardware,
  "configuration": configuration,
  "file-system": file_system,
  "instance-identity": instance_identity,
  "runtime-opaque": runtime_opaque,
  "storage-opaque": storage_opaque,
  "sourced-data": sourced_data,
}

# sample
executables := 3 if {
  input.sample
  input.sample.launch_digest in query_reference_value("launch_digest")
}

hardware := 2 if {
  input.sample
  input.sample.svn in query_reference_value("svn")
  input.sample.platform_version.major == query_reference_value("major_version")
  input.sample.platform_version.minor >= query_reference_value("minimum_minor_version")
}

configuration := 2 if {
  input.sample
  input.sample.debug == false
}

# snp
executables := 3 if {
  input.snp
  input.snp.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
  input.snp
  input.snp.reported_tcb_bootloader in query_reference_value("snp_bootloader")
  input.snp.reported_tcb_microcode in query_reference_value("snp_microcode")
  input.snp.reported_tcb_snp in query_reference_value("snp_snp_svn")
  input.snp.reported_tcb_tee in query_reference_value("snp_tee_svn")
}

configuration := 2 if {
  input.snp
  input.snp.platform_smt_enabled == query_reference_value("snp_smt_enabled")
  input.snp.policy_debug_allowed == false
  input.snp.policy_migrate_ma == false
} else := 3 if {
  input.snp
  input.snp.policy_debug_allowed == false
  input.snp.policy_migrate_ma == false
}

# tdx
tdx_kernel_ok if {
  some event in input.tdx.uefi_event_logs
  event.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION"
  "File(kernel)" in event.details.device_paths
  digest := event.digests[_]
  digest.digest == query_reference_value("tdvfkernel")
}

executables := 3 if {
  input.tdx
  input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
  input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
  tdx_kernel_ok
} else := 4 if {
  input.tdx
  input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
  input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
}

hardware := 2 if {
  input.tdx
  input.tdx.quote.header.tee_type == "81000000"
  input.tdx.quote.body.mr_td in query_reference_value("mr_td")
}

configuration := 2 if {
  input.tdx
  input.tdx.td_attributes.debug == false
  input.tdx.quote.body.xfam in query_reference_value("xfam")
}

images := [img | c := input.init_data_claims.containers[_]; img := c.image]

extensions := [{"ear.trustee.identifiers": object.union_n([{"images": images}, {"tee": "cpu"}])}] if {
  count(images) > 0
} else := []
`;

/** Realistic SNP claims (EAR submodule input) for the appraisal policy. */
export const SNP_CLAIMS = {
  snp: {
    measurement: 'a3f1'.repeat(24),
    reported_tcb_bootloader: 10,
    reported_tcb_microcode: 213,
    reported_tcb_snp: 22,
    reported_tcb_tee: 0,
    platform_smt_enabled: true,
    platform_tsme_enabled: false,
    policy_abi_major: 0,
    policy_abi_minor: 31,
    policy_debug_allowed: false,
    policy_migrate_ma: false,
    policy_single_socket: false,
    policy_smt_allowed: true,
  },
  init_data_claims: { containers: [{ image: 'registry.example/app:1' }, { image: 'registry.example/sidecar:2' }] },
};

/** Reference values matching SNP_CLAIMS (what the AS would prefetch from the RVPS). */
export const SNP_REFERENCE_VALUES: Record<string, unknown> = {
  snp_launch_measurement: ['a3f1'.repeat(24)],
  snp_bootloader: [10],
  snp_microcode: [213],
  snp_snp_svn: [22],
  snp_tee_svn: [0],
  snp_smt_enabled: true,
};

/** EAR-token claims as the KBS sees them (input of the resource policy). */
export const EAR_CLAIMS = {
  submods: {
    cpu0: {
      'ear.status': 'affirming',
      'ear.trustworthiness-vector': { executables: 3, hardware: 2, configuration: 2 },
      'ear.veraison.annotated-evidence': { snp: SNP_CLAIMS.snp },
    },
  },
};
