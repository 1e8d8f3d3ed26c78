/** Composition of the audit trail from `[audit]` and the KBS store. */
import { POLICY_NAMESPACE as ATTESTATION_POLICY_NAMESPACE } from '@trustee/attestation/config';
import { openStore, type KeyValueStore, type StorageBackendConfig } from '@trustee/storage';
import type { AuditConfig } from './auditConfig.ts';
import { loadCheckpointSigner, type CheckpointSigner } from './checkpointSigner.ts';
import { AuditRecorder } from './hook.ts';
import { sha256Hex } from './record.ts';
import { AuditTrail } from './trail.ts';

/**
 * The store the trail lives in: the KBS store, except with SQLite, where it is a file of its own
 * beside it (`kbs.sqlite` → `kbs.audit.sqlite`, WAL with synchronous=NORMAL: a power cut may lose
 * the newest records, never tear the file), so that appending on every request neither fsyncs
 * nor changes the file that policies and resources are read from. Replicas on one SQLite file
 * share the audit file the same way.
 */
export function openAuditStore(storage: StorageBackendConfig, main: KeyValueStore | undefined, now?: () => number): { store: KeyValueStore; owned: boolean } {
  if (storage.storageType === 'Sqlite' && storage.sqlite.path !== ':memory:') {
    const path = storage.sqlite.path;
    const dot = path.lastIndexOf('.');
    const slash = path.lastIndexOf('/');
    const auditPath = dot > slash + 1 ? `${path.slice(0, dot)}.audit${path.slice(dot)}` : `${path}.audit`;
    return { store: openStore({ ...storage, sqlite: { path: auditPath } }, { ephemeral: true, ...(now === undefined ? {} : { now }) }), owned: true };
  }
  return main === undefined ? { store: openStore(storage, now === undefined ? {} : { now }), owned: true } : { store: main, owned: false };
}

export function createAuditRecorder(
  config: AuditConfig,
  store: KeyValueStore,
  options: { readonly now?: () => number; readonly builtinAttestationService: boolean; readonly log: (message: string) => void; readonly mainStore: KeyValueStore },
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
            const bytes = await options.mainStore.get(ATTESTATION_POLICY_NAMESPACE, `${id}.rego`);
            return bytes === undefined ? undefined : sha256Hex(bytes);
          },
        }
      : {}),
  });
}

export { AuditRecorder } from './hook.ts';
export { AuditTrail, verifyTrail, exportTrail, pruneTrail } from './trail.ts';
