/**
 * RFC 8785 (JCS) canonical JSON, written independently of @trustee/protocol so the e2e suite checks
 * the KBS against a second reading of RFC 8785 and upstream trustee
 * `kbs/src/attestation/backend.rs`.
 *
 * Members are sorted by UTF-16 code units (what `Array.prototype.sort` does on strings by
 * default), strings and numbers use ECMAScript serialisation, no whitespace anywhere.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function jcs(value: Json): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('JCS cannot encode a non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => jcs(item)).join(',')}]`;
  const keys = Object.keys(value).sort();
  const members = keys.map((key) => `${JSON.stringify(key)}:${jcs(value[key] as Json)}`);
  return `{${members.join(',')}}`;
}
