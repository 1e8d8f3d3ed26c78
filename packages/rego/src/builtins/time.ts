/**
 * time.* builtins over int64 nanosecond instants, with Go layouts, IANA zones and OPA's range
 * checks ("time outside of valid range", "timestamp too big").
 */
import { builtinError, operandError, type BuiltinDefinition } from '../builtinContract.ts';
import { isNumber, normalizeBigInt, toDecimal, type Value } from '../value.ts';
import { integerArg, stringArg } from './args.ts';
import {
  GoTimeError, MAX_INT64, MIN_INT64, NAMED_LAYOUTS, RFC3339, RFC3339_NANO, UTC_ZONE,
  addDate, civilTime, daysIn, formatTime, inInt64Range, loadZone, parseDuration, parseTime, type Zone,
} from './goTime.ts';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface ZonedTime { ns: bigint; zone: Zone; layout: string }

function timestampOf(fn: string, v: Value): bigint {
  if (!isNumber(v)) throw operandError(fn, 1, 'number', v);
  // OPA converts through big.Float → int64; fractions truncate, out-of-range fails.
  const [coef, exp] = toDecimal(v);
  const integer = exp >= 0 ? coef * 10n ** BigInt(Math.min(exp, 400)) : coef / 10n ** BigInt(-exp);
  if (integer < MIN_INT64 || integer > MAX_INT64) throw builtinError(fn, 'timestamp too big');
  return integer;
}

/** OPA's tzTime: a number of ns, or [ns, zone name, layout?]. */
function zonedTime(fn: string, v: Value): ZonedTime {
  const expected = 'either number (ns) or [number (ns), string (tz)]';
  if (Array.isArray(v)) {
    if (v.length === 0) throw operandError(fn, 1, expected, v);
    const ns = timestampOf(fn, v[0] as Value);
    let zone: Zone = UTC_ZONE;
    let layout = '';
    if (v.length > 1) {
      const name = v[1] as Value;
      if (typeof name !== 'string') throw operandError(fn, 1, 'string', name);
      try {
        zone = loadZone(name);
      } catch (error) {
        throw builtinError(fn, error instanceof Error ? error.message : String(error));
      }
    }
    if (v.length > 2) {
      const l = v[2] as Value;
      if (typeof l !== 'string') throw operandError(fn, 1, 'string', l);
      layout = l;
    }
    return { ns, zone, layout };
  }
  if (isNumber(v)) return { ns: timestampOf(fn, v), zone: UTC_ZONE, layout: '' };
  throw operandError(fn, 1, expected, v);
}

function safeNanos(fn: string, ns: bigint): Value {
  if (!inInt64Range(ns)) throw builtinError(fn, 'time outside of valid range');
  return normalizeBigInt(ns);
}

function goCall<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof GoTimeError) throw builtinError(fn, error.message);
    throw error;
  }
}

/** Go's Time.Sub-free calendar difference (OPA's time.diff, after icza/gox). */
function diff(fn: string, a: Value, b: Value): Value {
  const t1 = zonedTime(fn, a);
  const t2 = zonedTime(fn, b);
  let [x, y] = [t1.ns, t2.ns];
  if (x > y) [x, y] = [y, x];
  const c1 = civilTime(x, t1.zone);
  const c2 = civilTime(y, t1.zone);
  let year = c2.year - c1.year;
  let month = c2.month - c1.month;
  let day = c2.day - c1.day;
  let hour = c2.hour - c1.hour;
  let minute = c2.minute - c1.minute;
  let second = c2.second - c1.second;
  if (second < 0) {
    second += 60;
    minute--;
  }
  if (minute < 0) {
    minute += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    day += daysIn(c1.month, c1.year);
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, minute, second];
}

export const timeBuiltins: BuiltinDefinition[] = [
  { name: 'time.now_ns', arity: 0, nondeterministic: true, impl: (_args, ctx) => normalizeBigInt(ctx.nowNs) },
  {
    name: 'time.parse_ns', arity: 2,
    impl: ([l, v], ctx) => {
      const layoutText = stringArg(ctx.name, l as Value, 1);
      const value = stringArg(ctx.name, v as Value, 2);
      const layout = NAMED_LAYOUTS[layoutText] ?? layoutText;
      return safeNanos(ctx.name, goCall(ctx.name, () => parseTime(layout, value)));
    },
  },
  {
    name: 'time.parse_rfc3339_ns', arity: 1,
    impl: ([v], ctx) => safeNanos(ctx.name, goCall(ctx.name, () => parseTime(RFC3339, stringArg(ctx.name, v as Value, 1)))),
  },
  {
    name: 'time.parse_duration_ns', arity: 1,
    impl: ([v], ctx) => normalizeBigInt(goCall(ctx.name, () => parseDuration(stringArg(ctx.name, v as Value, 1)))),
  },
  {
    name: 'time.format', arity: 1,
    impl: ([v], ctx) => {
      const t = zonedTime(ctx.name, v as Value);
      const layout = t.layout === '' ? RFC3339_NANO : NAMED_LAYOUTS[t.layout] ?? t.layout;
      return goCall(ctx.name, () => formatTime(t.ns, t.zone, layout));
    },
  },
  {
    name: 'time.date', arity: 1,
    impl: ([v], ctx) => {
      const t = zonedTime(ctx.name, v as Value);
      const c = civilTime(t.ns, t.zone);
      return [c.year, c.month, c.day];
    },
  },
  {
    name: 'time.clock', arity: 1,
    impl: ([v], ctx) => {
      const t = zonedTime(ctx.name, v as Value);
      const c = civilTime(t.ns, t.zone);
      return [c.hour, c.minute, c.second];
    },
  },
  {
    name: 'time.weekday', arity: 1,
    impl: ([v], ctx) => {
      const t = zonedTime(ctx.name, v as Value);
      return WEEKDAYS[civilTime(t.ns, t.zone).weekday] as string;
    },
  },
  {
    name: 'time.add_date', arity: 4,
    impl: ([v, y, m, d], ctx) => {
      const t = zonedTime(ctx.name, v as Value);
      const years = integerArg(ctx.name, y as Value, 2);
      const months = integerArg(ctx.name, m as Value, 3);
      const days = integerArg(ctx.name, d as Value, 4);
      const limit = 1n << 40n;
      if ([years, months, days].some((n) => n > limit || n < -limit)) throw builtinError(ctx.name, 'time outside of valid range');
      return safeNanos(ctx.name, addDate(t.ns, t.zone, Number(years), Number(months), Number(days)));
    },
  },
  { name: 'time.diff', arity: 2, impl: ([a, b], ctx) => diff(ctx.name, a as Value, b as Value) },
];
