/**
 * Comprehensions (array, set, object) and `every`: each runs its body to completion in the
 * enclosing bindings and yields one value (or one success).
 */
import type { Literal, Term } from '../ast.ts';
import { RegoError } from '../errors.ts';
import type { Evaluator } from '../evaluator.ts';
import { ObjectValue, SetValue, equals, type Value } from '../value.ts';
import type { Env, K, KV } from './types.ts';

type Comprehension = Extract<Term, { t: 'acomp' | 'scomp' | 'ocomp' }>;

/** The value of an array, set or object comprehension (an empty one when its body fails). */
export function evalComprehension(ev: Evaluator, t: Comprehension, env: Env, k: KV): boolean {
  switch (t.t) {
    case 'acomp': {
      const out: Value[] = [];
      ev.evalBody(t.body, 0, env, () =>
        ev.evalTerm(t.term, env, (v) => {
          out.push(v);
          return false;
        }),
      );
      return k(out);
    }
    case 'scomp': {
      const out = new SetValue();
      ev.evalBody(t.body, 0, env, () =>
        ev.evalTerm(t.term, env, (v) => {
          out.add(v);
          return false;
        }),
      );
      return k(out);
    }
    case 'ocomp': {
      const out = new ObjectValue();
      ev.evalBody(t.body, 0, env, () =>
        ev.evalTerm(t.key, env, (key) =>
          ev.evalTerm(t.value, env, (v) => {
            const prev = out.get(key);
            if (prev !== undefined && !equals(prev, v)) throw new RegoError('eval_conflict_error', 'object keys must be unique', t.loc, true);
            out.set(key, v);
            return false;
          }),
        ),
      );
      return k(out);
    }
  }
}

/** `every k, v in domain { body }`: true when the body holds for every element (and for none). */
export function evalEvery(ev: Evaluator, lit: Extract<Literal, { kind: 'every' }>, env: Env, k: K): boolean {
  return ev.evalTerm(lit.domain, env, (coll) => {
    if (!(Array.isArray(coll) || coll instanceof ObjectValue || coll instanceof SetValue)) return false;
    let ok = true;
    ev.iterate(coll, (key, val) => {
      let found = false;
      const inner = (): boolean => {
        ev.evalBody(lit.body, 0, env, () => {
          found = true;
          return true;
        });
        return false;
      };
      if (lit.key === undefined) ev.unifyValue(lit.value, val, env, inner);
      else ev.unifyValue(lit.key, key, env, () => ev.unifyValue(lit.value, val, env, inner));
      if (!found) {
        ok = false;
        return true;
      }
      return false;
    });
    return ok ? k() : false;
  });
}
