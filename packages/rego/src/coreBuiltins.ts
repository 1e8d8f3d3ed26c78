/**
 * TEMPORARY minimal builtins the core needs for its own tests before `builtins/` lands:
 * `count`, `object.union_n`, `sprintf`. Registered FIRST; `builtins/index.ts` registers after
 * and supersedes them (builtins engineer: feel free to provide better versions, same names).
 */
import { lookupBuiltin, operandError, registerBuiltins, type BuiltinDefinition } from './builtinContract.ts';
import { ObjectValue, SetValue, isNumber, numberToString, toRegoText, type Value } from './value.ts';

const count: BuiltinDefinition = {
  name: 'count',
  arity: 1,
  impl: ([x]) => {
    if (typeof x === 'string') return [...x].length;
    if (Array.isArray(x)) return x.length;
    if (x instanceof ObjectValue || x instanceof SetValue) return x.size;
    throw operandError('count', 1, 'one of {array, object, set, string}', x as Value);
  },
};

function mergeObjects(a: ObjectValue, b: ObjectValue): ObjectValue {
  const out = a.clone();
  for (const [k, v] of b.entries()) {
    const prev = out.get(k);
    out.set(k, prev instanceof ObjectValue && v instanceof ObjectValue ? mergeObjects(prev, v) : v);
  }
  return out;
}

const unionN: BuiltinDefinition = {
  name: 'object.union_n',
  arity: 1,
  impl: ([xs]) => {
    if (!Array.isArray(xs)) throw operandError('object.union_n', 1, 'array', xs as Value);
    let out = new ObjectValue();
    for (const o of xs) {
      if (!(o instanceof ObjectValue)) throw operandError('object.union_n', 1, 'array of objects', o);
      out = mergeObjects(out, o);
    }
    return out;
  },
};

const sprintf: BuiltinDefinition = {
  name: 'sprintf',
  arity: 2,
  impl: ([fmt, args]) => {
    if (typeof fmt !== 'string') throw operandError('sprintf', 1, 'string', fmt as Value);
    if (!Array.isArray(args)) throw operandError('sprintf', 2, 'array', args as Value);
    let i = 0;
    return fmt.replace(/%([%vsd])/g, (_m, verb: string) => {
      if (verb === '%') return '%';
      const a = args[i++];
      if (a === undefined) return `%!${verb}(MISSING)`;
      if (typeof a === 'string') return a;
      if (isNumber(a)) return numberToString(a);
      return toRegoText(a);
    });
  },
};

// never replace a definition from builtins/, whichever module is imported first
registerBuiltins([count, unionN, sprintf].filter((def) => lookupBuiltin(def.name) === undefined));
