/**
 * Attestation-policy selection by id (upstream trustee PR #1521, guest-components PR #1604): the
 * guest names an id in the `extra-params` of its /auth Request (`{"id": "gpu"}`); the operator
 * maps ids to the attestation-service policy ids that appraise its evidence:
 *
 * ```toml
 * [attestation_service.policy_id_map]
 * gpu = ["gpu"]                                          # any TEE
 * strict = { policies = ["tdx_strict"], tees = ["tdx"] } # only for these TEEs
 * ```
 *
 * No id (or an empty one, which upstream's attestation agent does not send at all) selects
 * `["default"]`, as before; `default` is always allowed unless the map says otherwise. Any
 * other id must be in the map and allowed for the session's TEE, else the handshake is refused
 * at /auth with a message naming the id. The AS appraises with `<policy id>_<tee class>`
 * (packages/attestation/src/attestationService.ts), e.g. `gpu_cpu`.
 */
import type { Json } from '@trustee/protocol';
import { TEE_NAMES } from '@trustee/protocol';
import { errorClassWithCode } from '@trustee/errors';
import { z } from 'zod';

export const DEFAULT_POLICY_IDS: readonly string[] = ['default'];
/** The id a guest may name: short, printable, no path characters. */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** The AS's policy id rule (admin/attestationPolicy.ts), less the room for `_<tee class>`. */
const POLICY_ID = /^(?!\.)[A-Za-z0-9_.-]{1,100}$/;
const MAX_ENTRIES = 1024;

export interface PolicyIdEntry {
  readonly policies: readonly string[];
  /** TEEs allowed to select this id; undefined = any. */
  readonly tees: readonly string[] | undefined;
}

export class PolicySelectionRefused extends errorClassWithCode('policy_selection_refused') {}

const policyIdsSchema = z
  .array(z.string().regex(POLICY_ID, 'an attestation policy id is 1-100 characters of [A-Za-z0-9_.-], not starting with "."'))
  .min(1, 'expected 1 to 16 attestation policy ids')
  .max(16, 'expected 1 to 16 attestation policy ids');

const entrySchema = z.union([
  policyIdsSchema,
  z.strictObject({
    policies: policyIdsSchema,
    tees: z.array(z.enum(TEE_NAMES as unknown as [string, ...string[]])).min(1).optional(),
  }),
]);

/**
 * `[attestation_service.policy_id_map]`: id → AS policy ids, or `{ policies, tees }`. Absent:
 * no map (ids other than `default` refused).
 */
export const policyIdMapSchema = z
  .record(z.string().regex(ID, 'an id is 1-64 characters of [A-Za-z0-9_.-]'), entrySchema)
  .refine((map) => Object.keys(map).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} ids`)
  .transform((map): ReadonlyMap<string, PolicyIdEntry> => {
    const out = new Map<string, PolicyIdEntry>();
    for (const [id, entry] of Object.entries(map)) {
      out.set(id, Array.isArray(entry) ? { policies: entry, tees: undefined } : { policies: entry.policies, tees: entry.tees });
    }
    return out;
  });

/** Parses a policy_id_map value outside a config file (tests, tools); throws the zod error's first message. */
export function parsePolicyIdMap(raw: unknown): ReadonlyMap<string, PolicyIdEntry> | undefined {
  if (raw === undefined) return undefined;
  const parsed = policyIdMapSchema.safeParse(raw);
  if (!parsed.success) throw new PolicySelectionRefused(`policy_id_map: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}

export class AttestationPolicySelector {
  readonly #map: ReadonlyMap<string, PolicyIdEntry>;

  constructor(map: ReadonlyMap<string, PolicyIdEntry> | undefined) {
    this.#map = map ?? new Map();
  }

  /** The id the Request names (`extra-params.id`), or undefined for none / empty. */
  static requestedId(extraParams: Json): string | undefined {
    if (typeof extraParams !== 'object' || extraParams === null || Array.isArray(extraParams)) return undefined;
    if (!Object.hasOwn(extraParams, 'id')) return undefined;
    const id = extraParams['id'];
    if (id === '') return undefined;
    if (typeof id !== 'string') throw new PolicySelectionRefused('extra-params.id must be a string naming an attestation policy id');
    return id;
  }

  /**
   * The attestation-service policy ids for a Request from `tee`; throws PolicySelectionRefused
   * (client-safe message) for an id the operator did not allow for this TEE.
   */
  select(tee: string, extraParams: Json): readonly string[] {
    const id = AttestationPolicySelector.requestedId(extraParams);
    if (id === undefined) return this.#map.get('default')?.policies ?? DEFAULT_POLICY_IDS;
    const shown = JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);
    const entry = this.#map.get(id);
    if (entry === undefined) {
      if (id === 'default') return DEFAULT_POLICY_IDS;
      // The declared ids are not listed: they are the operator's, not the guest's, to know.
      throw new PolicySelectionRefused(`attestation policy id ${shown} is not declared by this KBS`);
    }
    if (entry.tees !== undefined && !entry.tees.includes(tee)) {
      throw new PolicySelectionRefused(`attestation policy id ${shown} is not allowed for tee ${JSON.stringify(tee)} (allowed: ${entry.tees.join(', ')})`);
    }
    return entry.policies;
  }
}
