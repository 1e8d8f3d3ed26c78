/**
 * RFC 8785 JSON Canonicalization Scheme, serialised by hand: JavaScript objects move
 * integer-like keys to the front, so sorting keys and rebuilding an object would not give
 * RFC 8785 order. Keys are sorted by UTF-16 code units (the default string sort), numbers use
 * the ECMAScript Number-to-String algorithm and strings the JSON.stringify escaping, exactly
 * what RFC 8785 §3.2.2 prescribes.
 */
import { ProtocolError } from './errors.ts';

const MAX_DEPTH = 512;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Serialises a JSON value canonically (RFC 8785).
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 * @throws ProtocolError for values JSON cannot represent (non-finite numbers, bigint,
 *   functions, class instances, lone surrogates) or nesting deeper than 512 levels.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, 0);
}

function serialise(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new ProtocolError('canonical JSON: nesting too deep');
  switch (typeof value) {
    case 'string':
      return serialiseString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new ProtocolError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown) => serialise(item, depth + 1)).join(',')}]`;
      }
      return serialiseObject(value, depth);
    default:
      throw new ProtocolError(`canonical JSON: cannot serialise a ${typeof value}`);
  }
}

function serialiseObject(value: object, depth: number): string {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new ProtocolError('canonical JSON: only plain objects can be serialised');
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    // Like JSON.stringify: an undefined member is absent.
    if (member === undefined) continue;
    members.push(`${serialiseString(key)}:${serialise(member, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}

function serialiseString(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new ProtocolError('canonical JSON: string has a lone surrogate');
  return JSON.stringify(text);
}
