# trustee-ts default appraisal policy for NVIDIA NVSwitch evidence (keys x-nvidia-switch-*).
package policy

import rego.v1

default hardware := 97

default executables := 33

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

hardware := 2 if {
	input.nvidia
	report_chain := input.nvidia["x-nvidia-switch-attestation-report-cert-chain"]
	report_chain["x-nvidia-cert-ocsp-status"] == "good"
	report_chain["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-switch-attestation-report-cert-chain-fwid-match"]
	input.nvidia["x-nvidia-switch-attestation-report-parsed"]
	input.nvidia["x-nvidia-switch-attestation-report-signature-verified"]
	input.nvidia["x-nvidia-switch-arch-check"]
}

configuration := 2 if {
	switch_locked_down
	input.nvidia["x-nvidia-switch-bios-version"] in query_reference_value("allowed_switch_bios_versions")
} else := 3 if {
	switch_locked_down
}

switch_locked_down if {
	input.nvidia.secboot
	input.nvidia.dbgstat == "disabled"
}

executables := 3 if {
	input.nvidia
	rim_chain := input.nvidia["x-nvidia-switch-bios-rim-cert-chain"]
	rim_chain["x-nvidia-cert-ocsp-status"] == "good"
	rim_chain["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-switch-bios-rim-fetched"]
	input.nvidia["x-nvidia-switch-bios-rim-measurements-available"]
	input.nvidia["x-nvidia-switch-bios-rim-schema-validated"]
	input.nvidia["x-nvidia-switch-bios-rim-signature-verified"]
	input.nvidia["x-nvidia-switch-bios-rim-version-match"]
	input.nvidia.measres == "success"
}
