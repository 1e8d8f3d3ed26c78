import { checkPolicySyntax, compilePolicy, RegoError } from '@trustee/rego';
import type { KeyValueStore } from '@trustee/storage';
import { AttestationError } from '../attestationError.ts';

import { POLICY_NAMESPACE } from '../config.ts';

export { POLICY_NAMESPACE };
const SUFFIX = '.rego';
const POLICY_ID_PATTERN = /^[A-Za-z0-9._/-]{1,200}$/;
/** Policies are small programs; this bounds parser work on hostile uploads. */
export const MAX_POLICY_BYTES = 1024 * 1024;

export interface PolicyStore {
  /** Syntax-checks, then stores (overwriting). */
  set(policyId: string, source: string): Promise<void>;
  /** Stores only when absent (startup defaults); returns whether it was written. */
  setDefault(policyId: string, source: string): Promise<boolean>;
  get(policyId: string): Promise<string | undefined>;
  list(): Promise<string[]>;
  delete(policyId: string): Promise<boolean>;
}

export function createPolicyStore(store: KeyValueStore): PolicyStore {
  return {
    async set(policyId, source) {
      assertPolicyId(policyId);
      assertPolicySource(source);
      await storage(() => store.set(POLICY_NAMESPACE, policyId + SUFFIX, new TextEncoder().encode(source), { overwrite: true }));
    },
    async setDefault(policyId, source) {
      assertPolicyId(policyId);
      return storage(() => store.set(POLICY_NAMESPACE, policyId + SUFFIX, new TextEncoder().encode(source), { overwrite: false }));
    },
    async get(policyId) {
      assertPolicyId(policyId);
      const bytes = await storage(() => store.get(POLICY_NAMESPACE, policyId + SUFFIX));
      if (bytes === undefined) return undefined;
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new AttestationError('storage_error', `stored policy ${policyId} is not UTF-8`);
      }
    },
    async list() {
      const keys = await storage(() => store.list(POLICY_NAMESPACE));
      // Upstream fails the whole listing on a foreign key; skipping it keeps the API usable.
      return keys.filter((key) => key.endsWith(SUFFIX) && key.length > SUFFIX.length).map((key) => key.slice(0, -SUFFIX.length));
    },
    async delete(policyId) {
      assertPolicyId(policyId);
      return storage(() => store.delete(POLICY_NAMESPACE, policyId + SUFFIX));
    },
  };
}

/**
 * Policy ids follow the storage key rule of upstream's persistent backends; ids with `..`
 * segments are refused so no backend can map them outside its namespace.
 */
export function assertPolicyId(policyId: string): void {
  if (typeof policyId !== 'string' || !POLICY_ID_PATTERN.test(policyId) || policyId.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new AttestationError('invalid_policy', 'policy id must be 1-200 characters of [A-Za-z0-9._/-] without empty, "." or ".." segments');
  }
}

/**
 * Parses and compiles the Rego text; an error becomes `invalid_policy` with its line:column.
 * Compiling (not only parsing, as upstream does) turns unsafe variables and unknown functions
 * into a set-policy error instead of a failure of every later attestation.
 */
export function assertPolicySource(source: string): void {
  if (typeof source !== 'string') throw new AttestationError('invalid_policy', 'policy must be text');
  if (Buffer.byteLength(source, 'utf8') > MAX_POLICY_BYTES) throw new AttestationError('invalid_policy', `policy is larger than ${MAX_POLICY_BYTES} bytes`);
  try {
    checkPolicySyntax(source);
    compilePolicy([{ name: 'policy.rego', source }], { hostFunctions: { query_reference_value: () => null } });
  } catch (error) {
    if (error instanceof RegoError) throw new AttestationError('invalid_policy', `invalid Rego policy: ${error.message}`, { cause: error });
    throw new AttestationError('invalid_policy', 'invalid Rego policy', { cause: error });
  }
}

async function storage<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new AttestationError('storage_error', `policy storage: ${(error as Error).message}`, { cause: error });
  }
}
