/**
 * uuid.rfc4122 (random version-4 UUID, stable for the same key within one evaluation) and
 * uuid.parse (google/uuid formats and the fields OPA reports for each version).
 */
import { randomUUID } from 'node:crypto';
import type { BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, normalizeBigInt, type Value } from '../value.ts';
import { stringArg } from './args.ts';

/** 100-ns intervals between 1582-10-15 (UUID epoch) and 1970-01-01. */
const UUID_EPOCH_OFFSET = 122192928000000000n;

function uuidBytes(s: string): Buffer | undefined {
  let hex: string;
  if (s.length === 36) hex = canonical(s);
  else if (s.length === 38 && s.startsWith('{') && s.endsWith('}')) hex = canonical(s.slice(1, -1));
  else if (s.length === 45 && s.toLowerCase().startsWith('urn:uuid:')) hex = canonical(s.slice(9));
  else if (s.length === 32) hex = s;
  else return undefined;
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

function canonical(s: string): string {
  if (s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return 'x';
  return s.replaceAll('-', '');
}

function variantName(byte: number): string {
  if ((byte & 0xc0) === 0x80) return 'RFC4122';
  if ((byte & 0xe0) === 0xc0) return 'Microsoft';
  if ((byte & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

function parseUuid(s: string): Value | undefined {
  const b = uuidBytes(s);
  if (b === undefined) return undefined;
  const version = (b[6] as number) >> 4;
  const out = new ObjectValue();
  out.set('version', version);
  out.set('variant', variantName(b[8] as number));
  if (version === 1 || version === 2) {
    const timeLow = BigInt(b.readUInt32BE(0));
    const timeMid = BigInt(b.readUInt16BE(4));
    const timeHigh = BigInt(b.readUInt16BE(6) & 0x0fff);
    const timestamp = (timeHigh << 48n) | (timeMid << 32n) | timeLow;
    out.set('time', normalizeBigInt((timestamp - UUID_EPOCH_OFFSET) * 100n));
    out.set('clocksequence', b.readUInt16BE(8) & 0x3fff);
    const node = b.subarray(10, 16);
    out.set('nodeid', [...node].map((x) => x.toString(16).padStart(2, '0')).join('-'));
    const first = node[0] as number;
    out.set('macvariables', `${first & 0x02 ? 'local' : 'global'}:${first & 0x01 ? 'multicast' : 'unicast'}`);
    if (version === 2) {
      const domain = b[9] as number;
      out.set('domain', domain === 0 ? 'Person' : domain === 1 ? 'Group' : domain === 2 ? 'Org' : `Domain${domain}`);
      out.set('id', b.readUInt32BE(0));
    }
  }
  if (version === 6) {
    const timestamp = (BigInt(b.readUInt32BE(0)) << 28n) | (BigInt(b.readUInt16BE(4)) << 12n) | BigInt(b.readUInt16BE(6) & 0x0fff);
    out.set('time', normalizeBigInt((timestamp - UUID_EPOCH_OFFSET) * 100n));
  }
  if (version === 7) {
    const millis = (BigInt(b.readUInt32BE(0)) << 16n) | BigInt(b.readUInt16BE(4));
    out.set('time', normalizeBigInt(millis * 1_000_000n));
  }
  return out;
}

export const uuidBuiltins: BuiltinDefinition[] = [
  {
    name: 'uuid.rfc4122', arity: 1, nondeterministic: true,
    impl: ([k], ctx) => {
      const key = `uuid.rfc4122:${stringArg(ctx.name, k as Value, 1)}`;
      const cached = ctx.cache.get(key);
      if (typeof cached === 'string') return cached;
      const id = randomUUID();
      ctx.cache.set(key, id);
      return id;
    },
  },
  { name: 'uuid.parse', arity: 1, impl: ([s], ctx) => parseUuid(stringArg(ctx.name, s as Value, 1)) },
];
