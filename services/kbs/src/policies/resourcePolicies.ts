/**
 * Resource-policy decisions over the global policy and the scoped ones (scopes.ts), with a
 * decision id for each, explanations and dry runs.
 *
 * - `decide`: the global `resource-policy` first, exactly as upstream evaluates it; for the
 *   `resource` plugin, then every scoped policy above the path, outermost first. All must allow.
 *   The decision is recorded (decisions.ts); a deny or an evaluation failure carries its id in
 *   the error's reason (logged, never sent: the guest sees upstream's PolicyDeny only).
 * - `explain`: every applicable policy is evaluated (no short cut) and explained by the Rego
 *   engine (rule bodies held/failed, failing expression, compared values, bounded).
 * - `dryRun`: replays recorded decisions with a candidate policy in place of the stored one.
 */
import type { Logger } from '@trustee/log';
import { RegoError, type CompiledPolicy, type RegoJson, type RuleExplanation } from '@trustee/rego';
import type { JsonObject } from '../backends.ts';
import { KbsError, kbsErrors } from '../errors.ts';
import type { PolicyRequestData, ResourcePolicy } from '../resourcePolicy.ts';
import { DecisionLog, MAX_DECISIONS_READ, type DecisionRecord, type DecisionRequest, type PolicyVerdict } from './decisions.ts';
import { ScopedPolicyStore, ScopedPolicyUnreadable, scopesAbove } from './scopes.ts';

const ALLOW_RULE = 'data.policy.allow';
export const GLOBAL_POLICY = 'resource-policy';

/**
 * Evaluation budget of one scoped policy. Scoped policies come from team admins, who are trusted
 * less than the operator who sets the global policy (engine default: 1 s, 1,000,000 steps): one
 * team's heavy policy must not hold the event loop that serves every other team's guests.
 */
export const SCOPED_POLICY_BUDGET = { timeoutMs: 200, maxSteps: 200_000 } as const;
/** A dry run stops replaying after this long (the rest is reported as not replayed). */
export const DRY_RUN_BUDGET_MS = 5000;

export function scopedPolicyName(scope: string): string {
  return `scope:${scope}`;
}

export interface Decision {
  readonly allowed: boolean;
  readonly decisionId: string;
  readonly verdicts: readonly PolicyVerdict[];
  /** SHA-256 (hex) of the global policy text that decided (audit trail). */
  readonly globalPolicyHash?: string;
}

export interface PolicyExplanation {
  /** `resource-policy` or `scope:<scope>`. */
  readonly policy: string;
  readonly allowed: boolean;
  /** The evaluation error, when the policy failed (a failure denies). */
  readonly error?: string;
  readonly explanation?: RuleExplanation;
}

export interface ExplainReport {
  /** `<plugin>/<path>`. */
  readonly resource: string;
  readonly allowed: boolean;
  readonly policies: readonly PolicyExplanation[];
}

export interface DryRunEntry {
  readonly decision_id: string;
  readonly time: string;
  readonly resource: string;
  /** What the KBS answered then. */
  readonly recorded: boolean;
  /** What it would answer with the candidate policy (and today's other policies). */
  readonly candidate: boolean;
}

export interface DryRunReport {
  /** Recorded decisions read (newest first, at most MAX_DECISIONS_READ). */
  readonly read: number;
  /** Decisions the candidate applies to and that could be replayed. */
  readonly replayed: number;
  /** Decisions without stored claims (over the record limit), not replayed. */
  readonly skipped: number;
  /** False when the time budget (DRY_RUN_BUDGET_MS) ran out before every decision was replayed. */
  readonly complete: boolean;
  /** Replayed decisions whose outcome the candidate changes. */
  readonly changed: readonly DryRunEntry[];
}

/** Which stored policy a candidate replaces in a dry run. */
export type PolicyTarget = { readonly kind: 'global' } | { readonly kind: 'scope'; readonly scope: string };

export interface ResourcePoliciesOptions {
  /** Clock for dry-run budgets (ms). */
  readonly now?: () => number;
  /** Called when a decision could not be recorded (the decision stands), with the deciding request's logger when there is one. */
  readonly onRecordError?: (error: unknown, requestLog: Logger | undefined) => void;
}

function requestData(request: DecisionRequest): PolicyRequestData {
  return { plugin: request.plugin, 'resource-path': request.path, query: request.query };
}

function resourceName(request: DecisionRequest): string {
  return `${request.plugin}/${request.path.join('/')}`;
}

function regoMessage(error: unknown): string {
  if (error instanceof KbsError) return error.reason ?? error.detail;
  return (error as Error).message;
}

export class ResourcePolicies {
  readonly #global: ResourcePolicy;
  readonly #scoped: ScopedPolicyStore;
  readonly #log: DecisionLog;
  readonly #onRecordError: (error: unknown, requestLog: Logger | undefined) => void;
  readonly #now: () => number;

  constructor(global: ResourcePolicy, scoped: ScopedPolicyStore, log: DecisionLog, options: ResourcePoliciesOptions = {}) {
    this.#global = global;
    this.#scoped = scoped;
    this.#log = log;
    this.#onRecordError = options.onRecordError ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  get scoped(): ScopedPolicyStore {
    return this.#scoped;
  }

  get log(): DecisionLog {
    return this.#log;
  }

  get global(): ResourcePolicy {
    return this.#global;
  }

  /**
   * The release decision for a guest. Resolves allow/deny with a decision id; an evaluation
   * failure rejects with PolicyEngineError whose reason names the decision id. `requestLog` (the
   * guest request's logger, with its request id) gets the line if the decision cannot be recorded.
   */
  async decide(claims: JsonObject, request: DecisionRequest, requestLog?: Logger): Promise<Decision> {
    const verdicts: PolicyVerdict[] = [];
    let globalPolicyHash: string | undefined;
    let failure: unknown;
    try {
      const { allowed: globalAllows, policyHash } = await this.#global.decide(claims, requestData(request));
      globalPolicyHash = policyHash;
      verdicts.push({ policy: GLOBAL_POLICY, result: globalAllows });
      if (globalAllows && request.plugin === 'resource') {
        for (const scoped of await this.#scopedAbove(request.path)) {
          const allows = evaluate(scoped.policy, claims, request, SCOPED_POLICY_BUDGET);
          verdicts.push({ policy: scopedPolicyName(scoped.scope), result: allows });
          if (!allows) break;
        }
      }
    } catch (error) {
      failure = error;
      verdicts.push({ policy: verdicts.length === 0 ? GLOBAL_POLICY : 'scoped', result: 'error' });
    }
    const allowed = failure === undefined && verdicts.every((verdict) => verdict.result === true);
    const record = this.#log.build(request, claims, allowed, verdicts);
    if (allowed) {
      // A release does not wait for its record; a deny does, so its id can be explained at once.
      this.#log.store(record).catch((error: unknown) => this.#onRecordError(error, requestLog));
    } else {
      await this.#log.store(record).catch((error: unknown) => this.#onRecordError(error, requestLog));
    }
    const decisionId = record.id;
    if (failure !== undefined) {
      if (failure instanceof KbsError) throw new KbsError(failure.code, failure.detail, `${failure.reason ?? ''} (decision ${decisionId})`.trim(), { cause: failure });
      throw failure;
    }
    return { allowed, decisionId, verdicts, ...(globalPolicyHash === undefined ? {} : { globalPolicyHash }) };
  }

  async #scopedAbove(path: readonly string[]): Promise<Array<{ scope: string; policy: CompiledPolicy }>> {
    try {
      return await this.#scoped.above(path);
    } catch (error) {
      if (error instanceof RegoError || error instanceof ScopedPolicyUnreadable) throw kbsErrors.policyEngine(`scoped policy: ${error.message}`);
      throw error;
    }
  }

  /** Explains the decision for these claims: every applicable policy, each explained. */
  async explain(claims: JsonObject, request: DecisionRequest, candidate?: { readonly target: PolicyTarget; readonly policy: CompiledPolicy }): Promise<ExplainReport> {
    const policies: PolicyExplanation[] = [];
    const input = claims as RegoJson;
    const data = requestData(request) as unknown as RegoJson;
    const explainOne = (name: string, compiled: () => Promise<CompiledPolicy>): Promise<PolicyExplanation> =>
      compiled().then(
        (policy) => {
          try {
            const budget = name === GLOBAL_POLICY ? {} : SCOPED_POLICY_BUDGET;
            const explanation = policy.explainRule(ALLOW_RULE, { input, data, ...budget });
            const allowed = explanation?.value === true;
            return explanation === undefined ? { policy: name, allowed } : { policy: name, allowed, explanation };
          } catch (error) {
            return { policy: name, allowed: false, error: regoMessage(error) };
          }
        },
        (error: unknown) => {
          if (error instanceof KbsError || error instanceof RegoError || error instanceof ScopedPolicyUnreadable) return { policy: name, allowed: false, error: regoMessage(error) };
          throw error;
        },
      );
    const globalPolicy = candidate?.target.kind === 'global' ? candidate.policy : undefined;
    policies.push(await explainOne(GLOBAL_POLICY, async () => globalPolicy ?? (await this.#global.compiled())));
    if (request.plugin === 'resource') {
      for (const scope of scopesAbove(request.path)) {
        if (candidate?.target.kind === 'scope' && candidate.target.scope === scope) {
          policies.push(await explainOne(scopedPolicyName(scope), async () => candidate.policy));
          continue;
        }
        let scoped;
        try {
          scoped = await this.#scoped.get(scope);
        } catch (error) {
          if (!(error instanceof RegoError || error instanceof ScopedPolicyUnreadable)) throw error;
          policies.push({ policy: scopedPolicyName(scope), allowed: false, error: error.message });
          continue;
        }
        if (scoped === undefined) continue;
        const policy = scoped.policy;
        policies.push(await explainOne(scopedPolicyName(scope), async () => policy));
      }
    }
    return { resource: resourceName(request), allowed: policies.every((p) => p.allowed), policies };
  }

  /** Replays recorded decisions with `candidate` in place of the target policy. */
  async dryRun(target: PolicyTarget, candidate: CompiledPolicy, limit = MAX_DECISIONS_READ): Promise<DryRunReport> {
    const records = await this.#log.recent(Math.min(limit, MAX_DECISIONS_READ));
    let replayed = 0;
    let skipped = 0;
    const changed: DryRunEntry[] = [];
    const deadline = this.#now() + DRY_RUN_BUDGET_MS;
    let complete = true;
    for (const record of records) {
      if (!applies(target, record)) continue;
      if (this.#now() > deadline) {
        complete = false;
        break;
      }
      // Guests are served between replays: a dry run never holds the event loop for long.
      await new Promise((resolve) => setImmediate(resolve));
      if (record.claims === undefined) {
        skipped += 1;
        continue;
      }
      replayed += 1;
      const outcome = await this.#outcomeWith(record.claims, record.request, target, candidate);
      if (outcome !== record.allowed) {
        changed.push({ decision_id: record.id, time: record.time, resource: resourceName(record.request), recorded: record.allowed, candidate: outcome });
      }
    }
    return { read: records.length, replayed, skipped, complete, changed };
  }

  async #outcomeWith(claims: JsonObject, request: DecisionRequest, target: PolicyTarget, candidate: CompiledPolicy): Promise<boolean> {
    try {
      const globalPolicy = target.kind === 'global' ? candidate : await this.#global.compiled();
      if (!evaluate(globalPolicy, claims, request)) return false;
      if (request.plugin !== 'resource') return true;
      const stored = await this.#scoped.above(request.path);
      const scopes = scopesAbove(request.path);
      for (const scope of scopes) {
        const policy = target.kind === 'scope' && target.scope === scope ? candidate : stored.find((p) => p.scope === scope)?.policy;
        if (policy !== undefined && !evaluate(policy, claims, request, SCOPED_POLICY_BUDGET)) return false;
      }
      return true;
    } catch (error) {
      if (error instanceof KbsError || error instanceof RegoError || error instanceof ScopedPolicyUnreadable) return false;
      throw error;
    }
  }

  /** A recorded decision (for explain by id). */
  async decision(id: string): Promise<DecisionRecord | undefined> {
    return this.#log.get(id);
  }
}

function applies(target: PolicyTarget, record: DecisionRecord): boolean {
  if (target.kind === 'global') return true;
  return record.request.plugin === 'resource' && scopesAbove(record.request.path).includes(target.scope);
}

/** `data.policy.allow` of one policy; anything but `true` denies. RegoError → PolicyEngineError. */
function evaluate(policy: CompiledPolicy, claims: JsonObject, request: DecisionRequest, budget: { timeoutMs?: number; maxSteps?: number } = {}): boolean {
  try {
    return policy.evaluateRule(ALLOW_RULE, { input: claims as RegoJson, data: requestData(request) as unknown as RegoJson, ...budget }) === true;
  } catch (error) {
    if (error instanceof RegoError) throw kbsErrors.policyEngine(error.message);
    throw error;
  }
}
