/**
 * json.verify_schema and json.match_schema: a JSON Schema (draft 4/6/7 core keywords) validator
 * over Rego values that reports errors the way OPA does through gojsonschema
 * ({desc, error, field, type}, "(root)" for the document itself, gojsonschema's texts).
 */
import { builtinError, operandError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import {
  ObjectValue, SetValue, compareNumbers, equals, isInteger, isNumber, toJsonText, type Value,
} from '../value.ts';
import { type NumberValue } from './args.ts';
import { JsonSyntaxError, parseJsonValue } from './jsonText.ts';
import { toDecimal } from './numeric.ts';
import { compileRe2, matchCost, matches } from './re2.ts';
import { errorClassWithCode } from '@trustee/errors';

class SchemaError extends errorClassWithCode('invalid_schema') {}

interface Failure { field: string; type: string; desc: string }

const PRIMITIVES = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];
const MAX_DEPTH = 200;

function kindOf(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (isNumber(v)) return isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v) || v instanceof SetValue) return 'array';
  return 'object';
}

function matchesType(v: Value, type: string): boolean {
  const kind = kindOf(v);
  return kind === type || (type === 'number' && kind === 'integer');
}

/** Checks the schema's own structure (the errors gojsonschema raises while loading it). */
function checkSchema(schema: Value, depth = 0): void {
  if (depth > MAX_DEPTH) throw new SchemaError('schema nests too deeply');
  if (typeof schema === 'boolean') return;
  if (!(schema instanceof ObjectValue)) throw new SchemaError('Invalid type. Expected: object, given: ' + kindOf(schema));
  const type = schema.get('type');
  if (type !== undefined) {
    const list = typeof type === 'string' ? [type] : Array.isArray(type) ? type : undefined;
    if (list === undefined) throw new SchemaError('Invalid type. Expected: string/array of strings, given: type');
    for (const t of list) {
      if (typeof t !== 'string' || !PRIMITIVES.includes(t)) {
        throw new SchemaError(`has a primitive type that is NOT VALID -- given: /${typeof t === 'string' ? t : toJsonText(t)}/ Expected valid values are:[${PRIMITIVES.join(' ')}]`);
      }
    }
  }
  for (const key of ['properties', 'patternProperties', 'definitions', 'dependencies']) {
    const child = schema.get(key);
    if (child instanceof ObjectValue) for (const sub of child.values()) if (!Array.isArray(sub)) checkSchema(sub, depth + 1);
  }
  for (const key of ['items', 'additionalItems', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else']) {
    const child = schema.get(key);
    if (Array.isArray(child)) child.forEach((c) => checkSchema(c, depth + 1));
    else if (child !== undefined && typeof child !== 'boolean') checkSchema(child, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const child = schema.get(key);
    if (Array.isArray(child)) child.forEach((c) => checkSchema(c, depth + 1));
  }
  const pattern = schema.get('pattern');
  if (typeof pattern === 'string') compileRe2(pattern);
}

function resolveRef(root: Value, ref: string): Value {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) throw new SchemaError(`unsupported $ref ${ref}`);
  let current: Value | undefined = root;
  for (const raw of ref.slice(2).split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    current = current instanceof ObjectValue ? current.get(segment) : undefined;
    if (current === undefined) throw new SchemaError(`unresolvable $ref ${ref}`);
  }
  return current;
}

function fieldName(path: readonly string[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}

function validate(root: Value, schema: Value, value: Value, path: string[], out: Failure[], ctx: BuiltinContext, depth = 0): void {
  ctx.charge(1);
  if (depth > MAX_DEPTH) throw new SchemaError('schema recursion too deep');
  const fail = (type: string, desc: string, at: readonly string[] = path): void => {
    out.push({ field: fieldName(at), type, desc });
  };
  if (schema === true) return;
  if (schema === false) {
    fail('false', 'False always fails validation');
    return;
  }
  if (!(schema instanceof ObjectValue)) return;
  const ref = schema.get('$ref');
  if (typeof ref === 'string') {
    validate(root, resolveRef(root, ref), value, path, out, ctx, depth + 1);
    return;
  }
  const type = schema.get('type');
  if (type !== undefined) {
    const types = (typeof type === 'string' ? [type] : Array.isArray(type) ? type : []).filter((t): t is string => typeof t === 'string');
    if (!types.some((t) => matchesType(value, t))) {
      fail('invalid_type', `Invalid type. Expected: ${types.join(', ')}, given: ${kindOf(value)}`);
      return;
    }
  }
  const enumValues = schema.get('enum');
  if (Array.isArray(enumValues) && !enumValues.some((e) => equals(e, value))) {
    fail('enum', `${fieldName(path)} must be one of the following: ${enumValues.map(toJsonText).join(', ')}`);
  }
  const constValue = schema.get('const');
  if (constValue !== undefined && !equals(constValue, value)) fail('const', `${fieldName(path)} does not match: ${toJsonText(constValue)}`);

  for (const [key, label, word] of [['allOf', 'number_all_of', 'allOf'], ['anyOf', 'number_any_of', 'anyOf'], ['oneOf', 'number_one_of', 'oneOf']] as const) {
    const list = schema.get(key);
    if (!Array.isArray(list)) continue;
    const results = list.map((sub) => {
      const nested: Failure[] = [];
      validate(root, sub, value, path, nested, ctx, depth + 1);
      return nested;
    });
    const passed = results.filter((r) => r.length === 0).length;
    if (key === 'allOf' && passed !== list.length) {
      fail(label, 'Must validate all the schemas (allOf)');
      for (const r of results) out.push(...r);
    }
    if (key === 'anyOf' && passed === 0) fail(label, `Must validate at least one schema (${word})`);
    if (key === 'oneOf' && passed !== 1) fail(label, `Must validate one and only one schema (${word})`);
  }
  const not = schema.get('not');
  if (not !== undefined) {
    const nested: Failure[] = [];
    validate(root, not, value, path, nested, ctx, depth + 1);
    if (nested.length === 0) fail('number_not', 'Must not validate the schema (not)');
  }

  if (isNumber(value)) validateNumber(schema, value, fail);
  if (typeof value === 'string') {
    const length = Array.from(value).length;
    const min = schema.get('minLength');
    const max = schema.get('maxLength');
    if (isNumber(min) && compareNumbers(length, min) < 0) fail('string_gte', `String length must be greater than or equal to ${toJsonText(min)}`);
    if (isNumber(max) && compareNumbers(length, max) > 0) fail('string_lte', `String length must be less than or equal to ${toJsonText(max)}`);
    const pattern = schema.get('pattern');
    if (typeof pattern === 'string') {
      const re = compileRe2(pattern);
      ctx.charge(matchCost(re, value));
      if (!matches(re, value)) fail('pattern', `Does not match pattern '${pattern}'`);
    }
  }
  if (Array.isArray(value) || value instanceof SetValue) validateArray(root, schema, Array.isArray(value) ? value : [...value.values()], path, out, fail, ctx, depth);
  if (value instanceof ObjectValue) validateObject(root, schema, value, path, out, fail, ctx, depth);
}

function validateNumber(schema: ObjectValue, value: NumberValue, fail: (type: string, desc: string) => void): void {
  const minimum = schema.get('minimum');
  const maximum = schema.get('maximum');
  const exMin = schema.get('exclusiveMinimum');
  const exMax = schema.get('exclusiveMaximum');
  if (isNumber(minimum)) {
    if (exMin === true ? compareNumbers(value, minimum) <= 0 : compareNumbers(value, minimum) < 0) {
      fail(exMin === true ? 'number_gt' : 'number_gte', `Must be greater than ${exMin === true ? '' : 'or equal to '}${toJsonText(minimum)}`);
    }
  }
  if (isNumber(maximum)) {
    if (exMax === true ? compareNumbers(value, maximum) >= 0 : compareNumbers(value, maximum) > 0) {
      fail(exMax === true ? 'number_lt' : 'number_lte', `Must be less than ${exMax === true ? '' : 'or equal to '}${toJsonText(maximum)}`);
    }
  }
  if (isNumber(exMin) && compareNumbers(value, exMin) <= 0) fail('number_gt', `Must be greater than ${toJsonText(exMin)}`);
  if (isNumber(exMax) && compareNumbers(value, exMax) >= 0) fail('number_lt', `Must be less than ${toJsonText(exMax)}`);
  const multiple = schema.get('multipleOf');
  if (isNumber(multiple)) {
    const [vc, ve] = toDecimal(value);
    const [mc, me] = toDecimal(multiple);
    const e = Math.min(ve, me);
    const x = vc * 10n ** BigInt(ve - e);
    const m = mc * 10n ** BigInt(me - e);
    if (m !== 0n && x % m !== 0n) fail('multiple_of', `Must be a multiple of ${toJsonText(multiple)}`);
  }
}

function validateArray(
  root: Value, schema: ObjectValue, items: readonly Value[], path: string[], out: Failure[],
  fail: (type: string, desc: string) => void, ctx: BuiltinContext, depth: number,
): void {
  const min = schema.get('minItems');
  const max = schema.get('maxItems');
  if (isNumber(min) && compareNumbers(items.length, min) < 0) fail('array_min_items', `Array must have at least ${toJsonText(min)} items`);
  if (isNumber(max) && compareNumbers(items.length, max) > 0) fail('array_max_items', `Array must have at most ${toJsonText(max)} items`);
  if (schema.get('uniqueItems') === true) {
    outer: for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        if (equals(items[i] as Value, items[j] as Value)) {
          fail('unique', `array items[${i},${j}] must be unique`);
          break outer;
        }
      }
    }
  }
  const itemSchema = schema.get('items');
  if (Array.isArray(itemSchema)) {
    items.forEach((item, i) => {
      const sub = itemSchema[i];
      if (sub !== undefined) validate(root, sub, item, [...path, String(i)], out, ctx, depth + 1);
      else {
        const additional = schema.get('additionalItems');
        if (additional === false) fail('array_no_additional_items', 'No additional items allowed on array');
        else if (additional !== undefined) validate(root, additional, item, [...path, String(i)], out, ctx, depth + 1);
      }
    });
  } else if (itemSchema !== undefined) {
    items.forEach((item, i) => validate(root, itemSchema, item, [...path, String(i)], out, ctx, depth + 1));
  }
  const contains = schema.get('contains');
  if (contains !== undefined && !items.some((item) => {
    const nested: Failure[] = [];
    validate(root, contains, item, path, nested, ctx, depth + 1);
    return nested.length === 0;
  })) {
    fail('contains', 'At least one of the items must match');
  }
}

function validateObject(
  root: Value, schema: ObjectValue, object: ObjectValue, path: string[], out: Failure[],
  fail: (type: string, desc: string, at?: readonly string[]) => void, ctx: BuiltinContext, depth: number,
): void {
  const required = schema.get('required');
  if (Array.isArray(required)) {
    for (const name of required) if (typeof name === 'string' && !object.has(name)) fail('required', `${name} is required`);
  }
  const min = schema.get('minProperties');
  const max = schema.get('maxProperties');
  if (isNumber(min) && compareNumbers(object.size, min) < 0) fail('array_min_properties', `Must have at least ${toJsonText(min)} properties`);
  if (isNumber(max) && compareNumbers(object.size, max) > 0) fail('array_max_properties', `Must have at most ${toJsonText(max)} properties`);
  const properties = schema.get('properties');
  const patterns = schema.get('patternProperties');
  const additional = schema.get('additionalProperties');
  for (const [k, v] of object.entries()) {
    const key = typeof k === 'string' ? k : toJsonText(k);
    let matched = false;
    if (properties instanceof ObjectValue) {
      const sub = properties.get(key);
      if (sub !== undefined) {
        matched = true;
        validate(root, sub, v, [...path, key], out, ctx, depth + 1);
      }
    }
    if (patterns instanceof ObjectValue) {
      for (const [p, sub] of patterns.entries()) {
        if (typeof p !== 'string') continue;
        const re = compileRe2(p);
        ctx.charge(matchCost(re, key));
        if (matches(re, key)) {
          matched = true;
          validate(root, sub, v, [...path, key], out, ctx, depth + 1);
        }
      }
    }
    if (!matched && additional !== undefined) {
      if (additional === false) fail('additional_property_not_allowed', `Additional property ${key} is not allowed`);
      else validate(root, additional, v, [...path, key], out, ctx, depth + 1);
    }
  }
  const dependencies = schema.get('dependencies');
  if (dependencies instanceof ObjectValue) {
    for (const [k, dep] of dependencies.entries()) {
      if (!object.has(k)) continue;
      if (Array.isArray(dep)) {
        for (const name of dep) if (typeof name === 'string' && !object.has(name)) fail('missing_dependency', `Has a dependency on ${name}`);
      } else {
        validate(root, dep, object, path, out, ctx, depth + 1);
      }
    }
  }
}

/** A schema or document given as a JSON string or as a value. */
function jsonArg(fn: string, v: Value, position: number): Value {
  if (typeof v === 'string') {
    try {
      return parseJsonValue(v);
    } catch (error) {
      if (error instanceof JsonSyntaxError) throw builtinError(fn, error.message);
      throw error;
    }
  }
  if (v instanceof ObjectValue || Array.isArray(v) || typeof v === 'boolean') return v;
  throw operandError(fn, position, 'one of {string, object}', v);
}

export const jsonSchemaBuiltins: BuiltinDefinition[] = [
  {
    name: 'json.verify_schema', arity: 1,
    impl: ([s], ctx) => {
      const schema = jsonArg(ctx.name, s as Value, 1);
      try {
        checkSchema(schema);
        return [true, null];
      } catch (error) {
        if (error instanceof SchemaError || (error instanceof Error && error.message.startsWith('error parsing regexp'))) {
          return [false, `jsonschema: ${error.message}`];
        }
        throw error;
      }
    },
  },
  {
    name: 'json.match_schema', arity: 2,
    impl: ([d, s], ctx) => {
      const document = jsonArg(ctx.name, d as Value, 1);
      const schema = jsonArg(ctx.name, s as Value, 2);
      try {
        checkSchema(schema);
        const failures: Failure[] = [];
        validate(schema, schema, document, [], failures, ctx);
        const errors = failures.map((f) => ObjectValue.fromRecord({ desc: f.desc, error: `${f.field}: ${f.desc}`, field: f.field, type: f.type }));
        return [errors.length === 0, errors];
      } catch (error) {
        if (error instanceof SchemaError || (error instanceof Error && error.message.startsWith('error parsing regexp'))) {
          throw builtinError(ctx.name, error.message);
        }
        throw error;
      }
    },
  },
];
