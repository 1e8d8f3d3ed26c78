/**
 * The RVPS operations both transports serve, over the built-in RVPS core of
 * @trustee/rvps-core (upstream record format, namespace `reference_value`, expiry enforced).
 * Admin checks live here, not in the transports, so gRPC and REST cannot drift apart.
 */
import type { Json } from '@trustee/protocol';
import { MAX_REFERENCE_VALUE_NAME_LENGTH, parseRegistrationMessage, type BuiltinRvps, type ReferenceValueRecord } from '@trustee/rvps-core';
import type { AdminGate } from './adminAuth.ts';
import { RvpsError } from './errors.ts';
import type { RvpsMetrics } from './metrics.ts';


export interface ReferenceValueOperations {
  register(message: string, authorization: string | undefined): Promise<void>;
  /** The stored value, or `undefined` when absent or expired. */
  query(id: string): Promise<Json | undefined>;
  /** Admin: every live record (name, expiration, value), sorted by name. */
  list(authorization: string | undefined): Promise<ReferenceValueRecord[]>;
  /** Admin: whether the value existed. */
  delete(id: string, authorization: string | undefined): Promise<boolean>;
}

function checkId(id: string): void {
  if (id.length > MAX_REFERENCE_VALUE_NAME_LENGTH) throw new RvpsError('invalid_argument', `reference value id is longer than ${MAX_REFERENCE_VALUE_NAME_LENGTH} characters`);
}

export function createReferenceValueOperations(deps: {
  readonly rvps: BuiltinRvps;
  readonly admin: AdminGate;
  readonly protectRegister: boolean;
  readonly metrics?: RvpsMetrics;
}): ReferenceValueOperations {
  const { rvps, admin, protectRegister, metrics } = deps;
  return {
    async register(message, authorization) {
      if (protectRegister) await admin.authorize(authorization);
      await rvps.register(message);
      // Only reached for a message the core accepted, so this parse cannot fail.
      const type = parseRegistrationMessage(message).type;
      metrics?.registered(type === 'sample' || type === 'swid' || type === 'corim' ? type : 'other');
    },
    async query(id) {
      checkId(id);
      return rvps.query(id);
    },
    async list(authorization) {
      await admin.authorize(authorization);
      const records: ReferenceValueRecord[] = [];
      for (const id of await rvps.list()) {
        const record = await rvps.getRecord(id);
        if (record !== undefined) records.push(record);
      }
      return records;
    },
    async delete(id, authorization) {
      await admin.authorize(authorization);
      checkId(id);
      return rvps.delete(id);
    },
  };
}
