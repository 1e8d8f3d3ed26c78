/**
 * Protected PCIe topology (upstream's `validate_ppcie` in deps/verifier/src/nvidia/mod.rs): when
 * the device claims describe exactly 8 GPUs each linked to the same 4 NVSwitches and 4 switches
 * each linked to 8 GPUs, one extra `ppcie` claim set `{switch_count: 4, gpu_count: 8}` is added.
 * The PDIs come from NRAS's claims (`x-nvidia-gpu-switch-pdis`, `x-nvidia-switch-pdi`,
 * `x-nvidia-switch-gpu-pdis`), so like upstream this only fires in Remote mode.
 */
import type { JsonObject, VerifiedClaims } from '../verifier.ts';

const GPUS = 8;
const SWITCHES = 4;

/** The `ppcie` claims for a complete topology, or `undefined` when the devices are not one. */
export function ppcieClaims(devices: readonly VerifiedClaims[]): JsonObject | undefined {
  if (devices.length !== GPUS + SWITCHES) return undefined;
  const gpuPdis = new Set<string>();
  const switchPdis = new Set<string>();
  for (const { teeClass, claims } of devices) {
    if (teeClass === 'gpu') {
      const linked = stringArray(claims['x-nvidia-gpu-switch-pdis']);
      if (linked === undefined) return undefined;
      // All-zero PDIs are unused NVLink ports.
      const real = linked.filter((pdi) => !pdi.includes('0000000000000000'));
      if (real.length !== SWITCHES) return undefined;
      for (const pdi of real) switchPdis.add(pdi);
    } else if (teeClass === 'switch') {
      const own = claims['x-nvidia-switch-pdi'];
      const linked = stringArray(claims['x-nvidia-switch-gpu-pdis']);
      if (typeof own !== 'string' || linked === undefined || linked.length !== GPUS) return undefined;
      switchPdis.add(own);
      for (const pdi of linked) gpuPdis.add(pdi);
    }
  }
  if (gpuPdis.size !== GPUS || switchPdis.size !== SWITCHES) return undefined;
  return { switch_count: SWITCHES, gpu_count: GPUS };
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;
}
