# trustee-ts default appraisal policy for GPU-class evidence: the sample device and NVIDIA GPUs
# (claims as reported by NVIDIA's verifier / NRAS, keys x-nvidia-gpu-*).
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

# sample device. Upstream reads data.reference.device_svn, which the AS never populates (so the
# sample device is always "hardware not recognised" there); here the same id comes from the
# RVPS, which changes nothing unless device_svn is registered.
hardware := 2 if {
	input.sampledevice
	input.sampledevice.svn in query_reference_value("device_svn")
}

# NVIDIA GPU: the attestation report chains to NVIDIA, is parsed and signed, and fits the arch.
hardware := 2 if {
	input.nvidia
	report_chain := input.nvidia["x-nvidia-gpu-attestation-report-cert-chain"]
	report_chain["x-nvidia-cert-ocsp-status"] == "good"
	report_chain["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-gpu-attestation-report-cert-chain-fwid-match"]
	input.nvidia["x-nvidia-gpu-attestation-report-parsed"]
	input.nvidia["x-nvidia-gpu-attestation-report-signature-verified"]
	input.nvidia["x-nvidia-gpu-arch-check"]
}

configuration := 2 if {
	nvidia_gpu_locked_down
	input.nvidia["x-nvidia-gpu-vbios-version"] in query_reference_value("allowed_vbios_versions")
	input.nvidia["x-nvidia-gpu-driver-version"] in query_reference_value("allowed_driver_versions")
} else := 3 if {
	nvidia_gpu_locked_down
}

nvidia_gpu_locked_down if {
	input.nvidia.secboot
	input.nvidia.dbgstat == "disabled"
}

# The VBIOS and driver reference integrity manifests were fetched, validated and matched.
executables := 3 if {
	input.nvidia
	vbios_chain := input.nvidia["x-nvidia-gpu-vbios-rim-cert-chain"]
	vbios_chain["x-nvidia-cert-ocsp-status"] == "good"
	vbios_chain["x-nvidia-cert-status"] == "valid"
	driver_chain := input.nvidia["x-nvidia-gpu-driver-rim-cert-chain"]
	driver_chain["x-nvidia-cert-ocsp-status"] == "good"
	driver_chain["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-gpu-driver-rim-fetched"]
	input.nvidia["x-nvidia-gpu-driver-rim-measurements-available"]
	input.nvidia["x-nvidia-gpu-driver-rim-schema-validated"]
	input.nvidia["x-nvidia-gpu-driver-rim-signature-verified"]
	input.nvidia["x-nvidia-gpu-driver-rim-version-match"]
	input.nvidia["x-nvidia-gpu-vbios-rim-fetched"]
	input.nvidia["x-nvidia-gpu-vbios-rim-measurements-available"]
	input.nvidia["x-nvidia-gpu-vbios-rim-schema-validated"]
	input.nvidia["x-nvidia-gpu-vbios-rim-signature-verified"]
	input.nvidia["x-nvidia-gpu-vbios-rim-version-match"]
	input.nvidia.measres == "success"
}

# NVIDIA GPU verified by the Local verifier (trustee-ts addition: upstream's default policy only
# reads NRAS claims). Those claims exist only when the SPDM report was signed by a device chain
# to NVIDIA's Device Identity CA and bound to the nonce, so the hardware is genuine.
hardware := 2 if {
	input.nvidia.measurements
	input.nvidia.arch in {"Hopper", "Blackwell"}
}

# Reference measurements come from NVIDIA's driver and VBIOS RIMs registered through the RVPS
# swid extractor: id "<PlatformManufacturerStr>.<edition>.measurement_<RIM index>", the edition
# being the driver or VBIOS version and the RIM index the SPDM block index - 1. Every measured
# block a RIM covers must match one of its values, and at least one block must be covered.
nvidia_rim_editions := {input.nvidia.config.driver_version, lower(input.nvidia.config.vbios_version), upper(input.nvidia.config.vbios_version)}

nvidia_rim_values(index) := {value |
	some edition in nvidia_rim_editions
	values := query_reference_value(sprintf("NVIDIA.%s.measurement_%d", [edition, to_number(index) - 1]))
	is_array(values)
	some value in values
}

nvidia_measurements_covered contains index if {
	some index, measured in input.nvidia.measurements
	measured in nvidia_rim_values(index)
}

nvidia_measurements_mismatched contains index if {
	some index, measured in input.nvidia.measurements
	values := nvidia_rim_values(index)
	count(values) > 0
	not measured in values
}

executables := 3 if {
	input.nvidia.measurements
	count(nvidia_measurements_covered) > 0
	count(nvidia_measurements_mismatched) == 0
}

configuration := 2 if {
	input.nvidia.measurements
	input.nvidia.config.driver_version in query_reference_value("allowed_driver_versions")
	some vbios in {lower(input.nvidia.config.vbios_version), upper(input.nvidia.config.vbios_version)}
	vbios in query_reference_value("allowed_vbios_versions")
}
