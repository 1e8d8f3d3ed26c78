/**
 * `[audit]` (a trustee-ts extension; upstream has no such table): the audit trail in the KBS
 * store. Strict like every table: a typo must not silently turn auditing off.
 *
 *   [audit]
 *   enabled = true                 # default true
 *   replica_id = "kbs-0"           # default <hostname>/<pid>
 *   max_records = 1000000          # kept records; older ones pruned behind a signed checkpoint (0 = keep all)
 *   checkpoint_key = "audit.pem"   # Ed25519 PKCS#8 PEM signing checkpoints (default: a key kept in the store)
 *   decision_ttl_hours = 168       # how long a decision's claims stay viewable in the console
 */
import { z } from 'zod';

export interface AuditConfig {
  readonly enabled: boolean;
  readonly replicaId: string | undefined;
  readonly maxRecords: number;
  readonly checkpointKey: string | undefined;
  readonly decisionTtlHours: number;
}

export const DEFAULT_AUDIT_CONFIG: AuditConfig = { enabled: true, replicaId: undefined, maxRecords: 1_000_000, checkpointKey: undefined, decisionTtlHours: 168 };

export const auditSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    replica_id: z.string().regex(/^[\x21-\x7e]{1,128}$/, '1-128 printable ASCII characters without spaces').optional(),
    max_records: z.number().int().min(0).max(100_000_000).optional(),
    checkpoint_key: z.string().optional(),
    decision_ttl_hours: z.number().int().min(1).max(24 * 365).optional(),
  })
  .optional()
  .transform((raw): AuditConfig => ({
    enabled: raw?.enabled ?? DEFAULT_AUDIT_CONFIG.enabled,
    replicaId: raw?.replica_id,
    maxRecords: raw?.max_records ?? DEFAULT_AUDIT_CONFIG.maxRecords,
    checkpointKey: raw?.checkpoint_key,
    decisionTtlHours: raw?.decision_ttl_hours ?? DEFAULT_AUDIT_CONFIG.decisionTtlHours,
  }));
