/**
 * net.cidr_* builtins over IPv4/IPv6 addresses held as bigints, with Go's net.ParseIP /
 * net.ParseCIDR acceptance rules and Go's textual forms (RFC 5952 IPv6 compression).
 */
import { builtinError, limitError, operandError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, type Value } from '../value.ts';
import { stringArg } from './args.ts';

interface Ip { value: bigint; bits: 32 | 128 }
interface Network { first: bigint; prefix: number; bits: 32 | 128 }

const MAX_EXPAND = 1 << 20;

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part.startsWith('0'))) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    text = `${text.slice(0, lastColon + 1)}${text.endsWith('::') ? '' : ''}`;
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: bigint[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length + tail.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...head, ...new Array<bigint>(8 - explicit).fill(0n), ...rest, ...tail];
  } else {
    if (explicit !== 8) return undefined;
    groups = [...head, ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Go's net.ParseIP (IPv4 dotted quad or IPv6). */
export function parseIp(s: string): Ip | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { value: v4, bits: 32 };
  const v6 = parseIpv6(s);
  if (v6 !== undefined) return { value: v6, bits: 128 };
  return undefined;
}

/** Go's net.ParseCIDR: the masked network. */
export function parseCidr(s: string): Network | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (ip === undefined || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > ip.bits) return undefined;
  return { first: ip.value & mask(prefix, ip.bits), prefix, bits: ip.bits };
}

function mask(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

function last(n: Network): bigint {
  return n.first | ((1n << BigInt(n.bits - n.prefix)) - 1n);
}

/** Go's IP.String(). */
export function formatIp(value: bigint, bits: number): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  if (value >> 32n === 0xffffn) return formatIp(value & 0xffffffffn, 32);
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function formatNetwork(n: Network): string {
  return `${formatIp(n.first, n.bits)}/${n.prefix}`;
}

function cidrOrFail(fn: string, s: string): Network {
  const n = parseCidr(s);
  if (n === undefined) throw builtinError(fn, `invalid CIDR address: ${s}`);
  return n;
}

/** An IP (as a /32 or /128) or a CIDR. */
function ipOrCidr(fn: string, s: string): Network {
  const ip = parseIp(s);
  if (ip !== undefined) return { first: ip.value, prefix: ip.bits, bits: ip.bits };
  return cidrOrFail(fn, s);
}

function contains(a: Network, b: Network): boolean {
  return a.bits === b.bits && b.first >= a.first && last(b) <= last(a);
}

function intersects(a: Network, b: Network): boolean {
  return a.bits === b.bits && a.first <= last(b) && b.first <= last(a);
}

/** Elements of a contains_matches operand: [key, cidr-or-ip string]. */
function matchOperand(fn: string, v: Value, position: number): Array<[Value, string]> {
  const element = (key: Value, e: Value): [Value, string] => {
    if (typeof e === 'string') return [key, e];
    if (Array.isArray(e) && e.length > 0 && typeof e[0] === 'string') return [key, e[0]];
    throw builtinError(fn, `operand ${position}: element must be string or non-empty array`);
  };
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((e, i) => element(i, e));
  if (v instanceof SetValue) return v.values().map((e) => element(e, e));
  if (v instanceof ObjectValue) return v.entries().map(([k, e]) => element(k, e));
  throw operandError(fn, position, 'one of {string, array, set, object}', v);
}

/** Smallest list of CIDRs covering [first, lastIp]. */
function rangeToCidrs(first: bigint, lastIp: bigint, bits: 32 | 128): Network[] {
  const out: Network[] = [];
  let start = first;
  while (start <= lastIp) {
    let size = 0;
    while (size < bits) {
      const block = 1n << BigInt(size + 1);
      if (start % block !== 0n || start + block - 1n > lastIp) break;
      size++;
    }
    out.push({ first: start, prefix: bits - size, bits });
    start += 1n << BigInt(size);
  }
  return out;
}

function merge(fn: string, v: Value): SetValue {
  let items: readonly Value[];
  if (Array.isArray(v)) items = v;
  else if (v instanceof SetValue) items = v.values();
  else throw builtinError(fn, 'operand must be an array');
  interface Range { first: bigint; last: bigint; bits: 32 | 128; network?: Network }
  const ranges: Range[] = items.map((item) => {
    if (typeof item !== 'string') throw builtinError(fn, 'element must be string');
    const ip = parseIp(item);
    let network: Network;
    if (ip !== undefined) {
      if (ip.bits === 128) throw builtinError(fn, 'IPv6 invalid: needs prefix length');
      // Go uses the classful default mask for a bare IPv4 address.
      const top = Number(ip.value >> 24n);
      const prefix = top < 0x80 ? 8 : top < 0xc0 ? 16 : 24;
      network = { first: ip.value & mask(prefix, 32), prefix, bits: 32 };
    } else {
      network = cidrOrFail(fn, item);
    }
    return { first: network.first, last: last(network), bits: network.bits, network };
  });
  const families = [32, 128] as const;
  const out = new SetValue();
  for (const bits of families) {
    const family = ranges.filter((r) => r.bits === bits);
    family.sort((a, b) => (a.last < b.last ? -1 : a.last > b.last ? 1 : a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = family.length - 1; i > 0; i--) {
      const current = family[i] as Range;
      const previous = family[i - 1] as Range;
      if (current.first - 1n <= previous.last) {
        family[i - 1] = { first: previous.first < current.first ? previous.first : current.first, last: current.last, bits };
        family.splice(i, 1);
      }
    }
    for (const r of family) {
      if (r.network !== undefined) out.add(formatNetwork(r.network));
      else for (const n of rangeToCidrs(r.first, r.last, bits)) out.add(formatNetwork(n));
    }
  }
  return out;
}

function expand(fn: string, ctx: BuiltinContext, s: string): SetValue {
  const n = cidrOrFail(fn, s);
  const count = 1n << BigInt(n.bits - n.prefix);
  if (count > BigInt(MAX_EXPAND)) throw limitError(fn, `CIDR ${s} has too many addresses to expand (${count})`);
  ctx.charge(Number(count) * 50);
  const out = new SetValue();
  for (let i = 0n; i < count; i++) out.add(formatIp(n.first + i, n.bits));
  return out;
}

export const netBuiltins: BuiltinDefinition[] = [
  {
    name: 'net.cidr_contains', arity: 2,
    impl: ([a, b], ctx) => contains(cidrOrFail(ctx.name, stringArg(ctx.name, a as Value, 1)), ipOrCidr(ctx.name, stringArg(ctx.name, b as Value, 2))),
  },
  {
    name: 'net.cidr_overlap', arity: 2,
    impl: ([a, b], ctx) => contains(cidrOrFail(ctx.name, stringArg(ctx.name, a as Value, 1)), ipOrCidr(ctx.name, stringArg(ctx.name, b as Value, 2))),
  },
  {
    name: 'net.cidr_intersects', arity: 2,
    impl: ([a, b], ctx) => intersects(cidrOrFail(ctx.name, stringArg(ctx.name, a as Value, 1)), cidrOrFail(ctx.name, stringArg(ctx.name, b as Value, 2))),
  },
  {
    name: 'net.cidr_contains_matches', arity: 2,
    impl: ([a, b], ctx) => {
      const cidrs = matchOperand(ctx.name, a as Value, 1);
      const targets = matchOperand(ctx.name, b as Value, 2);
      ctx.charge(cidrs.length * targets.length + 1);
      const out = new SetValue();
      for (const [k1, c] of cidrs) {
        const network = cidrOrFail(ctx.name, c);
        for (const [k2, t] of targets) if (contains(network, ipOrCidr(ctx.name, t))) out.add([k1, k2]);
      }
      return out;
    },
  },
  { name: 'net.cidr_expand', arity: 1, impl: ([s], ctx) => expand(ctx.name, ctx, stringArg(ctx.name, s as Value, 1)) },
  { name: 'net.cidr_merge', arity: 1, impl: ([v], ctx) => merge(ctx.name, v as Value) },
  { name: 'net.cidr_is_valid', arity: 1, impl: ([s]) => typeof s === 'string' && parseCidr(s) !== undefined },
];
