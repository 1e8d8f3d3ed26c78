/**
 * Init-data (upstream trustee `kbs/docs/initdata.md`): the TOML document the guest was launched
 * with. Its digest is H(raw TOML bytes exactly as received) with H from the document's own
 * `algorithm`, and its `data` table becomes the policy input `init_data_claims` after upstream's
 * transformations.
 */
import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { isJsonObject, jsonKind, own, setOwn, type InitDataInput, type Json, type JsonObject } from '@trustee/protocol';
import { AttestationError } from './attestationError.ts';

export type { InitDataInput };

export interface ExpectedInitData {
  readonly digest: Uint8Array | undefined;
  /** The transformed `data` table, or `null` (digest only / absent). */
  readonly claims: Json;
}

const INIT_DATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
/** Guard against pathological documents; real init-data (policy + configs) is tens of KiB. */
export const MAX_INIT_DATA_BYTES = 1024 * 1024;
const POLICY_DATA_MARKER = 'policy_data := {';

export function expectedInitData(initData: InitDataInput | undefined): ExpectedInitData {
  if (initData === undefined) return { digest: undefined, claims: null };
  if ('digest' in initData) {
    if (!(initData.digest instanceof Uint8Array)) throw new AttestationError('invalid_init_data', 'init-data digest must be bytes');
    return { digest: initData.digest, claims: null };
  }
  return parseInitDataToml(initData.toml);
}

/**
 * Parses an init-data TOML document and binds it.
 *
 * @example
 * parseInitDataToml('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = "..."')
 * // { digest: sha256(bytes of the text), claims: { "aa.toml": {...} } }
 */
export function parseInitDataToml(text: string): ExpectedInitData {
  if (typeof text !== 'string') throw new AttestationError('invalid_init_data', 'init-data TOML must be text');
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_INIT_DATA_BYTES) throw new AttestationError('invalid_init_data', `init-data is larger than ${MAX_INIT_DATA_BYTES} bytes`);
  let document: Record<string, unknown>;
  try {
    document = parseToml(text);
  } catch (error) {
    throw new AttestationError('invalid_init_data', `init-data is not valid TOML: ${firstLine(error)}`);
  }
  const version = own(document as JsonObject, 'version');
  if (typeof version !== 'string') throw new AttestationError('invalid_init_data', `init-data version must be a string, found ${jsonKind(version)}`);
  const algorithm = own(document as JsonObject, 'algorithm');
  if (typeof algorithm !== 'string' || !(INIT_DATA_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new AttestationError('invalid_init_data', `init-data algorithm must be one of ${INIT_DATA_ALGORITHMS.join(', ')}`);
  }
  const data: unknown = Object.hasOwn(document, 'data') ? document.data : undefined;
  if (!isJsonObject(data)) throw new AttestationError('invalid_init_data', `init-data data must be a table, found ${jsonKind(data)}`);
  const claims: JsonObject = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') throw new AttestationError('invalid_init_data', `init-data data.${JSON.stringify(key)} must be a string, found ${jsonKind(value)}`);
    setOwn(claims, key, value);
  }
  return { digest: new Uint8Array(createHash(algorithm).update(bytes).digest()), claims: transformInitDataClaims(claims) };
}

/**
 * Upstream's claim transformations, in order: `cdh.toml` and `aa.toml` become their JSON form
 * when they parse as TOML; a `policy.rego` containing `policy_data := {` is replaced by
 * `agent_policy_claims`, the JSON object from that brace to the end of the file, when it parses.
 */
export function transformInitDataClaims(data: JsonObject): JsonObject {
  const claims: JsonObject = { ...data };
  for (const key of ['cdh.toml', 'aa.toml']) {
    const value = own(claims, key);
    if (typeof value !== 'string') continue;
    try {
      setOwn(claims, key, tomlToJson(parseToml(value)));
    } catch {
      // Not TOML: upstream keeps the string.
    }
  }
  const policy = own(claims, 'policy.rego');
  if (typeof policy === 'string') {
    const start = policy.indexOf(POLICY_DATA_MARKER);
    if (start !== -1) {
      try {
        const agentPolicy: unknown = JSON.parse(policy.slice(start + POLICY_DATA_MARKER.length - 1));
        delete claims['policy.rego'];
        claims.agent_policy_claims = agentPolicy as Json;
      } catch {
        // Not JSON after the marker: upstream keeps policy.rego as text.
      }
    }
  }
  return claims;
}

/** TOML values as JSON: dates become their RFC 3339 text, the rest maps one to one. */
function tomlToJson(value: unknown): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(tomlToJson);
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, member] of Object.entries(value)) setOwn(out, key, tomlToJson(member));
    return out;
  }
  return String(value);
}

function firstLine(error: unknown): string {
  return ((error as Error).message ?? 'parse error').split('\n')[0] ?? 'parse error';
}
