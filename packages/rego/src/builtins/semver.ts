/** semver.is_valid and semver.compare (Semantic Versioning 2.0.0 precedence, no "v" prefix). */
import { builtinError, type BuiltinDefinition } from '../builtinContract.ts';
import type { Value } from '../value.ts';
import { stringArg } from './args.ts';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface Version { core: [bigint, bigint, bigint]; pre: string[] }

export function parseSemver(s: string): Version | undefined {
  const m = SEMVER.exec(s);
  if (m === null) return undefined;
  return { core: [BigInt(m[1] as string), BigInt(m[2] as string), BigInt(m[3] as string)], pre: m[4] === undefined ? [] : m[4].split('.') };
}

export function compareSemver(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const x = a.core[i] as bigint;
    const y = b.core[i] as bigint;
    if (x !== y) return x < y ? -1 : 1;
  }
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i] as string;
    const y = b.pre[i] as string;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return BigInt(x) < BigInt(y) ? -1 : 1;
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

export const semverBuiltins: BuiltinDefinition[] = [
  { name: 'semver.is_valid', arity: 1, impl: ([v]) => typeof v === 'string' && parseSemver(v) !== undefined },
  {
    name: 'semver.compare', arity: 2,
    impl: ([a, b], ctx) => {
      const versions = [a, b].map((v, i) => {
        const s = stringArg(ctx.name, v as Value, i + 1);
        const parsed = parseSemver(s);
        if (parsed === undefined) throw builtinError(ctx.name, `operand ${i + 1}: string ${JSON.stringify(s)} is not a valid SemVer`);
        return parsed;
      });
      return compareSemver(versions[0] as Version, versions[1] as Version);
    },
  },
];
