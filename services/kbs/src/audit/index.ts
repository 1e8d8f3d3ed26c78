/** Composition of the audit trail from `[audit]` and the KBS store. */
import { POLICY_NAMESPACE as ATTESTATION_POLICY_NAMESPACE } from '@trustee/attestation';
import type { KeyValueStore } from '@trustee/storage';
import type { AuditConfig } from './auditConfig.ts';
import { loadCheckpointSigner, type CheckpointSigner } from './checkpointSigner.ts';
import { AuditRecorder } from './hook.ts';
import { sha256Hex } from './record.ts';
import { AuditTrail } from './trail.ts';

export function createAuditRecorder(
  config: AuditConfig,
  store: KeyValueStore,
  options: { readonly now?: () => number; readonly builtinAttestationService: boolean; readonly log: (message: string) => void },
): AuditRecorder {
  let signer: Promise<CheckpointSigner> | undefined;
  const trail = new AuditTrail(store, {
    ...(config.replicaId === undefined ? {} : { replica: config.replicaId }),
    ...(options.now === undefined ? {} : { now: options.now }),
    maxRecords: config.maxRecords,
    signer: () => (signer ??= loadCheckpointSigner({ keyPath: config.checkpointKey, store })),
    onError: (error) => options.log(`audit record not stored: ${(error as Error).message}`),
  });
  return new AuditRecorder({
    trail,
    store,
    ...(options.now === undefined ? {} : { now: options.now }),
    decisionTtlMs: config.decisionTtlHours * 3_600_000,
    log: options.log,
    ...(options.builtinAttestationService
      ? {
          attestationPolicyHash: async (id: string) => {
            const bytes = await store.get(ATTESTATION_POLICY_NAMESPACE, `${id}.rego`);
            return bytes === undefined ? undefined : sha256Hex(bytes);
          },
        }
      : {}),
  });
}

export { AuditRecorder } from './hook.ts';
export { AuditTrail, verifyTrail, exportTrail, pruneTrail } from './trail.ts';
