/**
 * The KBS resource policy (spec §2.3): Rego stored in namespace `kbs` under
 * `resource-policy.rego`, rule `data.policy.allow`, input = verified token claims, data =
 * `{plugin, "resource-path", query}`. Anything but `true` denies.
 *
 * The policy is re-read from the store on every decision (another replica may have replaced
 * it) but compiled only when its text changes.
 */
import { DEFAULT_RESOURCE_POLICY } from '@trustee/protocol';
import { compilePolicy, RegoError, type CompiledPolicy, type RegoJson } from '@trustee/rego';
import type { KeyValueStore } from '@trustee/storage';
import type { JsonObject } from './backends.ts';
import { KbsError, kbsErrors } from './errors.ts';
import { PolicyRejected, validateResourcePolicy } from './policies/validation.ts';

export const POLICY_NAMESPACE = 'kbs';
export const RESOURCE_POLICY_ID = 'resource-policy';
const POLICY_SUFFIX = '.rego';
const ALLOW_RULE = 'data.policy.allow';

/** Allows every plugin request carrying a verified token (benchmarks, development). */
export const ALLOW_ALL_RESOURCE_POLICY = `package policy

default allow := true
`;

export interface PolicyRequestData {
  readonly plugin: string;
  readonly 'resource-path': readonly string[];
  readonly query: Readonly<Record<string, string>>;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class ResourcePolicy {
  readonly #store: KeyValueStore;
  #cached: { readonly source: string; readonly policy: CompiledPolicy } | undefined;

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  /** Stores the built-in default unless a policy exists (survives restarts, like upstream). */
  async installDefault(): Promise<void> {
    await this.#store.set(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX, new TextEncoder().encode(DEFAULT_RESOURCE_POLICY), { overwrite: false });
  }

  /**
   * Checks (syntax, compile, no network builtins: policies/validation.ts), then stores. A policy
   * that fails → PolicyEngineError, nothing stored.
   */
  async set(source: string): Promise<void> {
    try {
      validateResourcePolicy(source);
    } catch (error) {
      if (error instanceof PolicyRejected) throw kbsErrors.policyEngine(error.message);
      throw error;
    }
    await this.#store.set(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX, new TextEncoder().encode(source));
  }

  /** Policy ids in namespace `kbs` (normally `["resource-policy"]`). */
  async list(): Promise<string[]> {
    const keys = await this.#store.list(POLICY_NAMESPACE);
    return keys.filter((key) => key.endsWith(POLICY_SUFFIX)).map((key) => key.slice(0, -POLICY_SUFFIX.length));
  }

  /** The stored policy, compiled (recompiled only when its text changed). PolicyEngineError when absent or unreadable. */
  async compiled(): Promise<CompiledPolicy> {
    const bytes = await this.#store.get(POLICY_NAMESPACE, RESOURCE_POLICY_ID + POLICY_SUFFIX);
    if (bytes === undefined) throw kbsErrors.policyEngine(`policy ${RESOURCE_POLICY_ID} not found`);
    let source: string;
    try {
      source = decoder.decode(bytes);
    } catch {
      throw kbsErrors.policyEngine(`policy ${RESOURCE_POLICY_ID} is not UTF-8`);
    }
    if (this.#cached?.source === source) return this.#cached.policy;
    const policy = compilePolicy(source);
    this.#cached = { source, policy };
    return policy;
  }

  /** Whether the policy allows this request; Rego failures are PolicyEngineError. */
  async allows(claims: JsonObject, data: PolicyRequestData): Promise<boolean> {
    try {
      const policy = await this.compiled();
      const result = policy.evaluateRule(ALLOW_RULE, { input: claims as RegoJson, data: data as unknown as RegoJson });
      return result === true;
    } catch (error) {
      if (error instanceof KbsError) throw error;
      if (error instanceof RegoError) throw kbsErrors.policyEngine(error.message);
      throw error;
    }
  }
}
