/**
 * Rego values as plain JavaScript data (objects with string keys, arrays, numbers, bigints for
 * integers beyond 2^53) for libraries that consume plain JSON (yaml, JSON Schema, jose).
 */
import { BigDecimal, ObjectValue, SetValue, toJsonText, type Value } from '../value.ts';
import { meter } from '../workMeter.ts';

export type PlainJson = null | boolean | number | bigint | string | PlainJson[] | { [k: string]: PlainJson };

export function toPlainJson(v: Value): PlainJson {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof BigDecimal) return v.toNumber();
  meter(4 + (Array.isArray(v) ? v.length : v.size) * 8);
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (v instanceof SetValue) return v.values().map(toPlainJson);
  const out: { [k: string]: PlainJson } = {};
  for (const [k, val] of (v as ObjectValue).entries()) {
    const key = typeof k === 'string' ? k : toJsonText(k);
    Object.defineProperty(out, key, { value: toPlainJson(val), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
