/**
 * Operand accessors shared by the builtin families: each one checks an argument's type and raises
 * OPA's exact operand error ("<fn>: operand 2 must be string but got number") otherwise.
 */
import { BuiltinError, builtinError, isResourceExhaustion, limitError, operandError, operandErrorText, type BuiltinContext } from '../builtinContract.ts';
import {
  BigDecimal, ObjectValue, SetValue, isNumber, toBigInt, typeName,
  type ArrayValue, type Value,
} from '../value.ts';

export type NumberValue = number | bigint | BigDecimal;

export function stringArg(fn: string, v: Value, position: number): string {
  if (typeof v !== 'string') throw operandError(fn, position, 'string', v);
  return v;
}

export function numberArg(fn: string, v: Value, position: number): NumberValue {
  if (!isNumber(v)) throw operandError(fn, position, 'number', v);
  return v;
}

/** OPA's IntOperand/BigIntOperand: a number that must be integral. */
export function integerArg(fn: string, v: Value, position: number): bigint {
  if (!isNumber(v)) throw operandError(fn, position, 'number', v);
  const i = toBigInt(v);
  if (i === undefined) throw operandErrorText(fn, position, 'must be integer number but got floating-point number');
  return i;
}

/** An integer operand that must also fit a JS safe integer (sizes, counts, indexes). */
export function smallIntegerArg(fn: string, v: Value, position: number): number {
  const i = integerArg(fn, v, position);
  if (i > BigInt(Number.MAX_SAFE_INTEGER) || i < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw builtinError(fn, `operand ${position} is out of range`);
  }
  return Number(i);
}

export function arrayArg(fn: string, v: Value, position: number): ArrayValue {
  if (!Array.isArray(v)) throw operandError(fn, position, 'array', v);
  return v;
}

export function objectArg(fn: string, v: Value, position: number): ObjectValue {
  if (!(v instanceof ObjectValue)) throw operandError(fn, position, 'object', v);
  return v;
}

export function setArg(fn: string, v: Value, position: number): SetValue {
  if (!(v instanceof SetValue)) throw operandError(fn, position, 'set', v);
  return v;
}

export function booleanArg(fn: string, v: Value, position: number): boolean {
  if (typeof v !== 'boolean') throw operandError(fn, position, 'boolean', v);
  return v;
}

/** Elements of an array or set (sets in sorted order). */
export function collectionElements(v: Value): readonly Value[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof SetValue) return v.values();
  return undefined;
}

/** OPA's StringSliceOperand: an array or set whose elements are all strings. */
export function stringListArg(fn: string, v: Value, position: number): string[] {
  const elements = collectionElements(v);
  if (elements === undefined) throw operandError(fn, position, 'one of {array, set}', v);
  return elements.map((element) => {
    if (typeof element !== 'string') {
      const kind = typeName(v);
      throw operandErrorText(fn, position, `must be ${kind} of strings but got ${kind} containing ${typeName(element)}`);
    }
    return element;
  });
}

/** Exactly-one-of error text like OPA's NewOperandTypeErr with several expected types. */
export function oneOf(...types: string[]): string {
  return `one of {${types.join(', ')}}`;
}

/** Runs `body`, converting stray JS exceptions into eval_builtin_error with the builtin's name. */
export function guarded<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof BuiltinError) throw error;
    if (error instanceof Error && error.name === 'RegoError') throw error;
    if (isResourceExhaustion(error)) throw limitError(fn, /call stack/i.test(error.message) ? 'input nests too deeply' : error.message);
    const message = error instanceof Error ? error.message : String(error);
    throw builtinError(fn, message);
  }
}

/** Upper bound on the size of any collection or string a builtin builds from user-chosen sizes. */
export const MAX_GENERATED_ELEMENTS = 10_000_000;
export const MAX_GENERATED_STRING_LENGTH = 64 * 1024 * 1024;

/**
 * Charges building or scanning `length` characters of text (about 10 ns each), before the work
 * when the length is known; a result over MAX_GENERATED_STRING_LENGTH is a resource limit.
 */
export function chargeText(ctx: BuiltinContext, fn: string, length: number): void {
  if (length > MAX_GENERATED_STRING_LENGTH) throw limitError(fn, 'result string too large');
  ctx.charge(length + 1);
}

