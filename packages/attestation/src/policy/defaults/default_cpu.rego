# trustee-ts default appraisal policy for CPU-class evidence.
#
# Input: the transformed verifier claims of one piece of evidence. The TEE's own claims sit
# under its name (input.sample, input.snp, input.tdx, input["az-snp-vtpm"], ...), next to
# report_data / runtime_data_claims and init_data / init_data_claims.
#
# Output: an AR4SI trust vector (trust_claims) and the ear.trustee.identifiers extension.
# Every platform block opens with a bare reference to its claims, so only the blocks of the
# TEE that produced the evidence can fire; the blocks of one rule therefore never conflict.
#
# Reference values come from the RVPS through query_reference_value(id). An id that was never
# registered yields null, so "x in null" is false and the claim keeps its default.
package policy

import rego.v1

# AR4SI values used below:
#   0   no claim
#   2   hardware: genuine / supported; configuration: known and approved
#   3   executables: only approved executables were loaded at boot;
#       configuration: no known vulnerability exposed
#   4   executables: approved kernel, initrd and command line, boot loader path not checked
#   33  executables: unrecognised executables
#   36  configuration: security-relevant configuration unavailable
#   97  hardware: hardware or firmware not recognised
default executables := 33

default hardware := 97

default configuration := 36

default file_system := 0

default instance_identity := 0

default runtime_opaque := 0

default storage_opaque := 0

default sourced_data := 0

trust_claims := {
	"instance-identity": instance_identity,
	"configuration": configuration,
	"executables": executables,
	"file-system": file_system,
	"hardware": hardware,
	"runtime-opaque": runtime_opaque,
	"storage-opaque": storage_opaque,
	"sourced-data": sourced_data,
}

# ---------------------------------------------------------------------------------------------
# sample: a software-only TEE for development; its claims are fixed by the verifier.

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

# ---------------------------------------------------------------------------------------------
# snp: AMD SEV-SNP on bare metal. Claims are booleans, integers and lowercase hex.

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

# Every guest-policy and platform field matches its reference value ...
configuration := 2 if {
	input.snp
	snp_guest_locked_down
	input.snp.platform_smt_enabled == query_reference_value("snp_smt_enabled")
	input.snp.platform_tsme_enabled == query_reference_value("snp_tsme_enabled")
	input.snp.policy_abi_major == query_reference_value("snp_guest_abi_major")
	input.snp.policy_abi_minor == query_reference_value("snp_guest_abi_minor")
	input.snp.policy_single_socket == query_reference_value("snp_single_socket")
	input.snp.policy_smt_allowed == query_reference_value("snp_smt_allowed")
} else := 3 if {
	# ... or at least debugging and migration agents are ruled out.
	input.snp
	snp_guest_locked_down
}

snp_guest_locked_down if {
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}

# ---------------------------------------------------------------------------------------------
# tdx: Intel TDX through DCAP. RTMR1/RTMR2 cover kernel, initrd and command line; the UEFI
# event log additionally pins the kernel image and its load options.

executables := 3 if {
	input.tdx
	tdx_rtmrs_match
	tdx_kernel_event_matches
	tdx_kernel_params_event_matches
} else := 4 if {
	# Boot loaders such as grub (GKE) do not log the kernel events checked above.
	input.tdx
	tdx_rtmrs_match
}

tdx_rtmrs_match if {
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
}

tdx_kernel_event_matches if {
	event := input.tdx.uefi_event_logs[_]
	event.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION"
	"File(kernel)" in event.details.device_paths
	entry := event.digests[_]
	entry.digest == query_reference_value("tdvfkernel")
}

tdx_kernel_params_event_matches if {
	event := input.tdx.uefi_event_logs[_]
	event.type_name == "EV_EVENT_TAG"
	event.details.string == "LOADED_IMAGE::LoadOptions"
	entry := event.digests[_]
	entry.digest == query_reference_value("tdvfkernelparams")
}

hardware := 2 if {
	input.tdx
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.quote.body.mr_td in query_reference_value("mr_td")
	input.tdx.tcb_status == "UpToDate"
	input.tdx.collateral_expiration_status == "0"

	# Stricter deployments may also pin the TDX module:
	#   input.tdx.quote.body.mr_seam in query_reference_value("mr_seam")
	# or accept an older TCB when it is recent enough:
	#   time.parse_rfc3339_ns(input.tdx.tcb_date) >= time.parse_rfc3339_ns("2025-08-13T00:00:00Z")
}

configuration := 2 if {
	input.tdx
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam in query_reference_value("xfam")
}

# ---------------------------------------------------------------------------------------------
# az-snp-vtpm: SEV-SNP behind Azure's paravisor. Every claim is a string ("true", "10") and
# the measurement is standard base64, so the reference values must be lists of strings.

executables := 3 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].measurement in query_reference_value("measurement")
	input["az-snp-vtpm"].tpm.pcr11 in query_reference_value("snp_pcr11")
}

hardware := 2 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].reported_tcb_bootloader in query_reference_value("tcb_bootloader")
	input["az-snp-vtpm"].reported_tcb_microcode in query_reference_value("tcb_microcode")
	input["az-snp-vtpm"].reported_tcb_snp in query_reference_value("tcb_snp")
	input["az-snp-vtpm"].reported_tcb_tee in query_reference_value("tcb_tee")
}

configuration := 2 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].platform_smt_enabled in query_reference_value("smt_enabled")
	input["az-snp-vtpm"].platform_tsme_enabled in query_reference_value("tsme_enabled")
	input["az-snp-vtpm"].policy_abi_major in query_reference_value("abi_major")
	input["az-snp-vtpm"].policy_abi_minor in query_reference_value("abi_minor")
	input["az-snp-vtpm"].policy_single_socket in query_reference_value("single_socket")
	input["az-snp-vtpm"].policy_smt_allowed in query_reference_value("smt_allowed")
}

# ---------------------------------------------------------------------------------------------
# az-tdx-vtpm: TDX behind Azure's paravisor; the guest's boot chain is measured into PCR11.

executables := 3 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].tpm.pcr11 in query_reference_value("tdx_pcr11")
}

hardware := 2 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].quote.header.tee_type == "81000000"
	input["az-tdx-vtpm"].quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input["az-tdx-vtpm"].quote.body.mr_td in query_reference_value("mr_td")
	input["az-tdx-vtpm"].tcb_status == "UpToDate"
}

configuration := 2 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].quote.body.xfam in query_reference_value("xfam")
}

# ---------------------------------------------------------------------------------------------
# tpm: a plain TPM quote. The verifier does not trust the attestation key by itself, so the
# AK must be one of the registered trusted_aks.

hardware := 2 if {
	input.tpm
}

executables := 3 if {
	input.tpm
	input.tpm.pcr11 in query_reference_value("tpm_pcr11")
	input.tpm.ak_public in query_reference_value("trusted_aks")
}

configuration := 0 if {
	input.tpm
}

# ---------------------------------------------------------------------------------------------
# se: IBM Secure Execution. The verifier checks measurements, signatures and the user-data
# binding itself; claims exist only when all of that passed.

executables := 3 if {
	input.se
}

hardware := 2 if {
	input.se
}

configuration := 2 if {
	input.se
}

# ---------------------------------------------------------------------------------------------
# Extension ear.trustee.identifiers (key -18): workload identifiers bound to the evidence
# through init-data, here the container images and UIDs of the Kata agent policy.

extensions := [{
	"name": "ear.trustee.identifiers",
	"key": -18,
	"value": {"validated": validated_identifiers},
}]

validated_identifiers := object.union_n([images_identifier, uids_identifier])

agent_policy_containers := [container |
	container := input.init_data_claims.agent_policy_claims.containers[_]
]

container_images := [image |
	container := agent_policy_containers[_]
	image := container.OCI.Annotations["io.kubernetes.cri.image-name"]
]

container_uids := [uid |
	container := agent_policy_containers[_]
	uid := container.OCI.Process.User.UID
]

images_identifier := {"container_images": container_images} if {
	count(container_images) > 0
} else := {}

uids_identifier := {"container_uids": container_uids} if {
	count(container_uids) > 0
} else := {}
