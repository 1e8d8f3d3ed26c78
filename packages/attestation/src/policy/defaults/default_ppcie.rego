# trustee-ts default appraisal policy for the synthetic NVIDIA protected-PCIe topology claim:
# the topology itself was checked by the verifier, so only the configuration is asserted.
package policy

import rego.v1

trust_claims := {
	"instance-identity": 0,
	"configuration": 2,
	"executables": 0,
	"file-system": 0,
	"hardware": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
}
