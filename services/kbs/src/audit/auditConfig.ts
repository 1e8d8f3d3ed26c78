/**
 * `[audit]` (a trustee-ts extension; upstream has no such table and ignores it): the audit
 * trail in the KBS store. Unknown keys are refused (a typo must not silently turn auditing off).
 *
 *   [audit]
 *   enabled = true                 # default true
 *   replica_id = "kbs-0"           # default <hostname>/<pid>
 *   max_records = 1000000          # kept records; older ones pruned behind a signed checkpoint (0 = keep all)
 *   checkpoint_key = "audit.pem"   # Ed25519 PKCS#8 PEM signing checkpoints (default: a key kept in the store)
 *   decision_ttl_hours = 168       # how long a decision's claims stay viewable in the console
 */
import { ConfigError, optionalBoolean, optionalInteger, optionalString, rejectUnknownKeys, table } from '../configError.ts';

export interface AuditConfig {
  readonly enabled: boolean;
  readonly replicaId: string | undefined;
  readonly maxRecords: number;
  readonly checkpointKey: string | undefined;
  readonly decisionTtlHours: number;
}

export const DEFAULT_AUDIT_CONFIG: AuditConfig = { enabled: true, replicaId: undefined, maxRecords: 1_000_000, checkpointKey: undefined, decisionTtlHours: 168 };

export function parseAuditConfig(raw: unknown, path = 'audit'): AuditConfig {
  if (raw === undefined) return DEFAULT_AUDIT_CONFIG;
  const section = table(raw, path);
  rejectUnknownKeys(section, ['enabled', 'replica_id', 'max_records', 'checkpoint_key', 'decision_ttl_hours'], path);
  const replicaId = optionalString(section, 'replica_id', path);
  if (replicaId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(replicaId)) throw new ConfigError(`${path}.replica_id: 1-128 printable ASCII characters without spaces`);
  return {
    enabled: optionalBoolean(section, 'enabled', path) ?? true,
    replicaId,
    maxRecords: optionalInteger(section, 'max_records', path, 0, 100_000_000) ?? DEFAULT_AUDIT_CONFIG.maxRecords,
    checkpointKey: optionalString(section, 'checkpoint_key', path),
    decisionTtlHours: optionalInteger(section, 'decision_ttl_hours', path, 1, 24 * 365) ?? DEFAULT_AUDIT_CONFIG.decisionTtlHours,
  };
}
