/**
 * graphql.* builtins: parse_query, parse_schema, parse, parse_and_verify, is_valid and
 * schema_is_valid. Parsing follows gqlparser (see graphqlParser.ts); schema checks and query
 * validation implement the gqlparser/graphql-js rules policies rely on (known types, fields,
 * arguments, required arguments, leaf selections, fragments, variables, directives, operation
 * names), with their message texts. Results are pruned like OPA: no Position, nulls or empties.
 */
import { builtinError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, fromJson, type Value } from '../value.ts';
import { toPlainJson } from './plainJson.ts';
import { GraphqlError, parseQueryDocument, parseSchemaDocument, type Node } from './graphqlParser.ts';
import { TrusteeError } from '@trustee/errors';

class ValidationError extends TrusteeError<'invalid_graphql_query'> {
  constructor(message: string, readonly line = 0, readonly column = 0) {
    super('invalid_graphql_query', message);
  }
}

const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function positionOf(node: Node | undefined): [number, number] {
  const p = node?.Position;
  return p === undefined ? [0, 0] : [p.Line, p.Column];
}

function fail(message: string, node?: Node): never {
  const [line, column] = positionOf(node);
  throw new ValidationError(message, line, column);
}

// ---------------------------------------------------------------------------------------------
// Pruning (OPA's pruneIrrelevantGraphQLASTNodes)

function prune(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const e of v) {
      if (e === null || e === undefined) continue;
      const p = prune(e);
      if (Array.isArray(p) && p.length === 0) continue;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out.push(p);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'Position' || e === null || e === undefined) continue;
      const p = prune(e);
      if (Array.isArray(p) && p.length === 0) continue;
      if (p !== null && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

function toAstValue(doc: Node): Value {
  return fromJson(prune(doc));
}

// ---------------------------------------------------------------------------------------------
// Schema

const PRELUDE = `
scalar Int
scalar Float
scalar String
scalar Boolean
scalar ID
directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
directive @specifiedBy(url: String!) on SCALAR
directive @defer(if: Boolean = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @oneOf on INPUT_OBJECT
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String fields(includeDeprecated: Boolean = false): [__Field!] interfaces: [__Type!] possibleTypes: [__Type!] enumValues(includeDeprecated: Boolean = false): [__EnumValue!] inputFields(includeDeprecated: Boolean = false): [__InputValue!] ofType: __Type specifiedByURL: String isOneOf: Boolean }
type __Field { name: String! description: String args(includeDeprecated: Boolean = false): [__InputValue!]! type: __Type! isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]! args(includeDeprecated: Boolean = false): [__InputValue!]! isRepeatable: Boolean! }
enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
enum __DirectiveLocation { QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD INLINE_FRAGMENT VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT INPUT_FIELD_DEFINITION }
`;

let preludeDocument: Node | undefined;

interface Schema {
  types: Map<string, Node>;
  directives: Map<string, Node>;
  roots: Map<string, string>;
}

const INPUT_KINDS = new Set(['SCALAR', 'ENUM', 'INPUT_OBJECT']);
const OUTPUT_KINDS = new Set(['SCALAR', 'OBJECT', 'INTERFACE', 'UNION', 'ENUM']);

function namedType(type: unknown): string {
  let t = type as Node | undefined;
  for (let depth = 0; t !== undefined && t !== null && depth < 100; depth++) {
    if (str(t['NamedType']) !== '') return str(t['NamedType']);
    t = t['Elem'] as Node | undefined;
  }
  return '';
}

function typeString(type: unknown): string {
  const t = type as Node | undefined;
  if (t === undefined || t === null) return '';
  const inner = str(t['NamedType']) !== '' ? str(t['NamedType']) : `[${typeString(t['Elem'])}]`;
  return t['NonNull'] === true ? `${inner}!` : inner;
}

function reserved(name: string, node: Node): void {
  if (name.startsWith('__')) fail(`Name "${name}" must not begin with "__", which is reserved by GraphQL introspection.`, node);
}

function buildSchema(doc: Node): Schema {
  preludeDocument ??= parseSchemaDocument(PRELUDE);
  const types = new Map<string, Node>();
  const directives = new Map<string, Node>();
  const builtIn = new Set<string>();
  for (const def of list(preludeDocument['Definitions'])) {
    types.set(str(def['Name']), { ...def, BuiltIn: true });
    builtIn.add(str(def['Name']));
  }
  for (const d of list(preludeDocument['Directives'])) directives.set(str(d['Name']), d);
  for (const def of list(doc['Definitions'])) {
    const name = str(def['Name']);
    if (types.has(name) && !builtIn.has(name)) fail(`Cannot redeclare type ${name}.`, def);
    types.set(name, { ...def });
  }
  for (const ext of list(doc['Extensions'])) {
    const name = str(ext['Name']);
    const base = types.get(name);
    if (base === undefined) {
      types.set(name, { ...ext });
      continue;
    }
    if (str(base['Kind']) !== str(ext['Kind'])) fail(`Cannot extend type ${name} because the base type is a ${str(base['Kind'])}, not ${str(ext['Kind'])}.`, ext);
    for (const key of ['Directives', 'Interfaces', 'Fields', 'Types', 'EnumValues']) {
      const extra = ext[key];
      if (Array.isArray(extra) && extra.length > 0) base[key] = [...(Array.isArray(base[key]) ? base[key] as unknown[] : []), ...extra];
    }
  }
  for (const d of list(doc['Directives'])) {
    const name = str(d['Name']);
    if (directives.has(name) && !['include', 'skip', 'deprecated', 'specifiedBy', 'defer', 'oneOf'].includes(name)) fail(`Cannot redeclare directive ${name}.`, d);
    directives.set(name, d);
  }
  const roots = new Map<string, string>();
  const schemaDefs = list(doc['Schema']);
  if (schemaDefs.length > 1) fail('Cannot have multiple schema entry points, consider schema extensions instead.', schemaDefs[1]);
  for (const def of [...schemaDefs, ...list(doc['SchemaExtension'])]) {
    for (const op of list(def['OperationTypes'])) {
      const typeName = str(op['Type']);
      if (!types.has(typeName)) fail(`Schema root ${str(op['Operation'])} refers to a type ${typeName} that does not exist.`, op);
      roots.set(str(op['Operation']), typeName);
    }
  }
  if (schemaDefs.length === 0) {
    for (const [op, name] of [['query', 'Query'], ['mutation', 'Mutation'], ['subscription', 'Subscription']] as const) {
      if (types.has(name) && !roots.has(op)) roots.set(op, name);
    }
  }
  const schema: Schema = { types, directives, roots };
  for (const def of types.values()) validateDefinition(schema, def);
  return schema;
}

function validateDefinition(schema: Schema, def: Node): void {
  const name = str(def['Name']);
  const kind = str(def['Kind']);
  if (def['BuiltIn'] === true) return;
  reserved(name, def);
  const requireType = (typeName: string, node: Node): Node => {
    const t = schema.types.get(typeName);
    if (t === undefined) fail(`Undefined type ${typeName}.`, node);
    return t;
  };
  switch (kind) {
    case 'OBJECT': case 'INTERFACE': {
      const fields = list(def['Fields']);
      if (fields.length === 0) fail(`${kind} ${name}: must define one or more fields.`, def);
      const seen = new Set<string>();
      for (const field of fields) {
        const fieldName = str(field['Name']);
        reserved(fieldName, field);
        if (seen.has(fieldName)) fail(`Field ${name}.${fieldName} can only be defined once.`, field);
        seen.add(fieldName);
        const fieldType = requireType(namedType(field['Type']), field);
        if (!OUTPUT_KINDS.has(str(fieldType['Kind']))) fail(`${kind} ${fieldName}: field must be one of SCALAR, OBJECT, INTERFACE, UNION, ENUM.`, field);
        for (const arg of list(field['Arguments'])) {
          reserved(str(arg['Name']), arg);
          const argType = requireType(namedType(arg['Type']), arg);
          if (!INPUT_KINDS.has(str(argType['Kind']))) fail(`cannot use ${str(argType['Kind'])} as argument ${str(arg['Name'])} on field ${fieldName}`, arg);
        }
        validateDirectives(schema, list(field['Directives']), 'FIELD_DEFINITION');
      }
      const declared = strings(def['Interfaces']);
      for (const interfaceName of declared) {
        const iface = schema.types.get(interfaceName);
        if (iface === undefined) fail(`Undefined type ${interfaceName}.`, def);
        if (str(iface['Kind']) !== 'INTERFACE') fail(`${kind} ${name} implements non-interface ${interfaceName}.`, def);
        for (const inherited of strings(iface['Interfaces'])) {
          if (!declared.includes(inherited)) fail(`${kind} ${name} must implement ${inherited} because it is implemented by ${interfaceName}.`, def);
        }
        for (const required of list(iface['Fields'])) {
          const own = fields.find((f) => str(f['Name']) === str(required['Name']));
          if (own === undefined) fail(`For ${name} to implement ${interfaceName} it must have a field called ${str(required['Name'])}.`, def);
        }
      }
      break;
    }
    case 'UNION': {
      const members = strings(def['Types']);
      if (members.length === 0) fail(`UNION type "${name}" must define one or more member types.`, def);
      for (const member of members) {
        const t = requireType(member, def);
        if (str(t['Kind']) !== 'OBJECT') fail(`UNION type "${member}" is a ${str(t['Kind'])}, member types must be OBJECT.`, def);
      }
      break;
    }
    case 'ENUM': {
      const values = list(def['EnumValues']);
      if (values.length === 0) fail(`ENUM ${name}: must define one or more unique enum values.`, def);
      const seen = new Set<string>();
      for (const value of values) {
        const valueName = str(value['Name']);
        if (['true', 'false', 'null'].includes(valueName)) fail(`ENUM ${name}: enum value ${valueName} is reserved.`, value);
        if (seen.has(valueName)) fail(`ENUM ${name}: must define one or more unique enum values.`, value);
        seen.add(valueName);
      }
      break;
    }
    case 'INPUT_OBJECT': {
      const fields = list(def['Fields']);
      if (fields.length === 0) fail(`INPUT_OBJECT ${name}: must define one or more input fields.`, def);
      for (const field of fields) {
        const fieldType = requireType(namedType(field['Type']), field);
        if (!INPUT_KINDS.has(str(fieldType['Kind']))) fail(`INPUT_OBJECT ${str(field['Name'])}: field must be one of SCALAR, ENUM, INPUT_OBJECT.`, field);
      }
      break;
    }
    default:
      break;
  }
  validateDirectives(schema, list(def['Directives']), kind === 'INPUT_OBJECT' ? 'INPUT_OBJECT' : kind);
}

function validateDirectives(schema: Schema, directives: readonly Node[], location: string): void {
  for (const d of directives) {
    const name = str(d['Name']);
    const def = schema.directives.get(name);
    if (def === undefined) fail(`Undefined directive ${name}.`, d);
    if (!strings(def['Locations']).includes(location)) fail(`Directive ${name} is not applicable on ${location}.`, d);
  }
}

// ---------------------------------------------------------------------------------------------
// Query validation

interface QueryContext {
  schema: Schema;
  fragments: Map<string, Node>;
  usedFragments: Set<string>;
  usedVariables: Set<string>;
  ctx: BuiltinContext;
}

function collectVariables(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 200 || value === null || typeof value !== 'object') return;
  const v = value as Node;
  if (v['Kind'] === 0 && typeof v['Raw'] === 'string') into.add(v['Raw']);
  for (const child of list(v['Children'])) collectVariables(child['Value'], into, depth + 1);
}

function checkArguments(q: QueryContext, args: readonly Node[], defs: readonly Node[], owner: string, kind: 'field' | 'directive', node: Node, label: string): void {
  const seen = new Set<string>();
  for (const arg of args) {
    const name = str(arg['Name']);
    if (seen.has(name)) fail(`There can be only one argument named "${name}".`, arg);
    seen.add(name);
    if (!defs.some((d) => str(d['Name']) === name)) {
      fail(kind === 'field' ? `Unknown argument "${name}" on field "${owner}".` : `Unknown argument "${name}" on directive "@${owner}".`, arg);
    }
    collectVariables(arg['Value'], q.usedVariables);
  }
  for (const def of defs) {
    const type = def['Type'] as Node | undefined;
    if (type?.['NonNull'] !== true || def['DefaultValue'] !== null && def['DefaultValue'] !== undefined) continue;
    const given = args.find((a) => str(a['Name']) === str(def['Name']));
    const givenNull = given !== undefined && (given['Value'] as Node | undefined)?.['Kind'] === 6;
    if (given === undefined || givenNull) {
      fail(kind === 'field'
        ? `Field "${label}" argument "${str(def['Name'])}" of type "${typeString(type)}" is required, but it was not provided.`
        : `Directive "@${label}" argument "${str(def['Name'])}" of type "${typeString(type)}" is required, but it was not provided.`, node);
    }
  }
}

function checkQueryDirectives(q: QueryContext, directives: readonly Node[], location: string): void {
  for (const d of directives) {
    const name = str(d['Name']);
    const def = q.schema.directives.get(name);
    if (def === undefined) fail(`Unknown directive "@${name}".`, d);
    if (!strings(def['Locations']).includes(location)) fail(`Directive "@${name}" may not be used on ${location}.`, d);
    checkArguments(q, list(d['Arguments']), list(def['Arguments']), name, 'directive', d, name);
  }
}

const COMPOSITE = new Set(['OBJECT', 'INTERFACE', 'UNION']);

function checkSelectionSet(q: QueryContext, selections: readonly Node[], parent: Node, isRoot: boolean, depth: number, visiting: Set<string>): void {
  if (depth > 200) fail('query nests too deeply');
  for (const selection of selections) {
    q.ctx.charge(1);
    if (typeof selection['Alias'] === 'string') {
      checkField(q, selection, parent, isRoot, depth, visiting);
    } else if (str(selection['Name']) !== '') {
      const name = str(selection['Name']);
      const fragment = q.fragments.get(name);
      if (fragment === undefined) fail(`Unknown fragment "${name}".`, selection);
      q.usedFragments.add(name);
      checkQueryDirectives(q, list(selection['Directives']), 'FRAGMENT_SPREAD');
      if (visiting.has(name)) fail(`Cannot spread fragment "${name}" within itself.`, selection);
      const condition = q.schema.types.get(str(fragment['TypeCondition']));
      if (condition === undefined) fail(`Unknown type "${str(fragment['TypeCondition'])}".`, fragment);
      visiting.add(name);
      checkSelectionSet(q, list(fragment['SelectionSet']), condition, false, depth + 1, visiting);
      visiting.delete(name);
    } else {
      const conditionName = str(selection['TypeCondition']);
      const condition = conditionName === '' ? parent : q.schema.types.get(conditionName);
      if (condition === undefined) fail(`Unknown type "${conditionName}".`, selection);
      if (!COMPOSITE.has(str(condition['Kind']))) fail(`Fragment cannot condition on non composite type "${conditionName}".`, selection);
      checkQueryDirectives(q, list(selection['Directives']), 'INLINE_FRAGMENT');
      checkSelectionSet(q, list(selection['SelectionSet']), condition, false, depth + 1, visiting);
    }
  }
}

function checkField(q: QueryContext, field: Node, parent: Node, isRoot: boolean, depth: number, visiting: Set<string>): void {
  const name = str(field['Name']);
  const parentName = str(parent['Name']);
  const selections = list(field['SelectionSet']);
  checkQueryDirectives(q, list(field['Directives']), 'FIELD');
  if (name === '__typename') {
    if (selections.length > 0) fail(`Field "${name}" must not have a selection since type "String!" has no subfields.`, field);
    return;
  }
  let def: Node | undefined;
  if (isRoot && (name === '__schema' || name === '__type')) {
    def = name === '__schema'
      ? { Name: '__schema', Type: { NamedType: '__Schema', NonNull: true }, Arguments: [] }
      : { Name: '__type', Type: { NamedType: '__Type', NonNull: false }, Arguments: [{ Name: 'name', Type: { NamedType: 'String', NonNull: true }, DefaultValue: null }] };
  } else if (str(parent['Kind']) === 'OBJECT' || str(parent['Kind']) === 'INTERFACE') {
    def = list(parent['Fields']).find((f) => str(f['Name']) === name);
  }
  if (def === undefined) fail(`Cannot query field "${name}" on type "${parentName}".`, field);
  checkArguments(q, list(field['Arguments']), list(def['Arguments']), `${parentName}.${name}`, 'field', field, name);
  const typeName = namedType(def['Type']);
  const type = q.schema.types.get(typeName);
  if (type === undefined) fail(`Unknown type "${typeName}".`, field);
  const composite = COMPOSITE.has(str(type['Kind']));
  if (!composite && selections.length > 0) fail(`Field "${name}" must not have a selection since type "${typeString(def['Type'])}" has no subfields.`, field);
  if (composite && selections.length === 0) fail(`Field "${name}" of type "${typeString(def['Type'])}" must have a selection of subfields. Did you mean "${name} { ... }"?`, field);
  if (composite) checkSelectionSet(q, selections, type, false, depth + 1, visiting);
}

function validateQuery(schema: Schema, doc: Node, ctx: BuiltinContext): void {
  const operations = list(doc['Operations']);
  const fragmentList = list(doc['Fragments']);
  const fragments = new Map<string, Node>();
  for (const fragment of fragmentList) {
    const name = str(fragment['Name']);
    if (fragments.has(name)) fail(`There can be only one fragment named "${name}".`, fragment);
    fragments.set(name, fragment);
    const condition = schema.types.get(str(fragment['TypeCondition']));
    if (condition === undefined) fail(`Unknown type "${str(fragment['TypeCondition'])}".`, fragment);
    if (!COMPOSITE.has(str(condition['Kind']))) fail(`Fragment "${name}" cannot condition on non composite type "${str(fragment['TypeCondition'])}".`, fragment);
  }
  const names = new Set<string>();
  for (const op of operations) {
    const name = str(op['Name']);
    if (name === '' && operations.length > 1) fail('This anonymous operation must be the only defined operation.', op);
    if (name !== '' && names.has(name)) fail(`There can be only one operation named "${name}".`, op);
    names.add(name);
  }
  const usedFragments = new Set<string>();
  for (const op of operations) {
    const kind = str(op['Operation']) || 'query';
    const rootName = schema.roots.get(kind);
    const root = rootName === undefined ? undefined : schema.types.get(rootName);
    if (root === undefined) fail(`Schema does not support operation type "${kind}"`, op);
    const q: QueryContext = { schema, fragments, usedFragments, usedVariables: new Set(), ctx };
    const definedVariables = new Map<string, Node>();
    for (const variable of list(op['VariableDefinitions'])) {
      const name = str(variable['Variable']);
      if (definedVariables.has(name)) fail(`There can be only one variable named "$${name}".`, variable);
      definedVariables.set(name, variable);
      const typeName = namedType(variable['Type']);
      const type = schema.types.get(typeName);
      if (type === undefined) fail(`Unknown type "${typeName}".`, variable);
      if (!INPUT_KINDS.has(str(type['Kind']))) fail(`Variable "$${name}" cannot be non-input type "${typeString(variable['Type'])}".`, variable);
      checkQueryDirectives(q, list(variable['Directives']), 'VARIABLE_DEFINITION');
    }
    checkQueryDirectives(q, list(op['Directives']), kind.toUpperCase());
    checkSelectionSet(q, list(op['SelectionSet']), root, true, 0, new Set());
    const opName = str(op['Name']);
    for (const used of q.usedVariables) {
      if (!definedVariables.has(used)) fail(opName === '' ? `Variable "$${used}" is not defined.` : `Variable "$${used}" is not defined by operation "${opName}".`, op);
    }
    for (const [name, variable] of definedVariables) {
      if (!q.usedVariables.has(name)) fail(opName === '' ? `Variable "$${name}" is never used.` : `Variable "$${name}" is never used in operation "${opName}".`, variable);
    }
  }
  for (const fragment of fragmentList) {
    if (!usedFragments.has(str(fragment['Name']))) fail(`Fragment "${str(fragment['Name'])}" is never used.`, fragment);
  }
}

// ---------------------------------------------------------------------------------------------
// Builtins

function locate(error: GraphqlError | ValidationError): string {
  // OPA trims the trailing period of validation messages only.
  const message = error instanceof ValidationError ? error.message.replace(/\.$/, '') : error.message;
  return `${message} in GraphQL string at location ${error.line}:${error.column}`;
}

/** A query or schema given as source text or as an AST object (as returned by parse_*). */
function documentOf(v: Value, parse: (s: string) => Node): Node | undefined {
  if (typeof v === 'string') return parse(v);
  if (v instanceof ObjectValue) return toPlainJson(v) as Node;
  return undefined;
}

function run<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof GraphqlError || error instanceof ValidationError) throw builtinError(fn, locate(error));
    throw error;
  }
}

function quietly<T>(body: () => T): T | undefined {
  try {
    return body();
  } catch (error) {
    if (error instanceof GraphqlError || error instanceof ValidationError) return undefined;
    throw error;
  }
}

function parseBoth(fn: string, q: Value, s: Value, ctx: BuiltinContext): [Node, Node] {
  const query = documentOf(q, parseQueryDocument);
  if (query === undefined) throw builtinError(fn, 'operand 1 must be one of {string, object}');
  const schemaDoc = documentOf(s, parseSchemaDocument);
  if (schemaDoc === undefined) throw builtinError(fn, 'operand 2 must be one of {string, object}');
  const schema = buildSchema(schemaDoc);
  validateQuery(schema, query, ctx);
  return [query, schemaDoc];
}

export const graphqlBuiltins: BuiltinDefinition[] = [
  {
    name: 'graphql.parse_query', arity: 1,
    impl: ([q], ctx) => run(ctx.name, () => {
      if (typeof q !== 'string') throw builtinError(ctx.name, 'operand 1 must be string');
      return toAstValue(parseQueryDocument(q));
    }),
  },
  {
    name: 'graphql.parse_schema', arity: 1,
    impl: ([s], ctx) => run(ctx.name, () => {
      if (typeof s !== 'string') throw builtinError(ctx.name, 'operand 1 must be string');
      return toAstValue(parseSchemaDocument(s));
    }),
  },
  {
    name: 'graphql.parse', arity: 2,
    impl: ([q, s], ctx) => run(ctx.name, () => {
      const [query, schema] = parseBoth(ctx.name, q as Value, s as Value, ctx);
      return [toAstValue(query), toAstValue(schema)];
    }),
  },
  {
    name: 'graphql.parse_and_verify', arity: 2,
    impl: ([q, s], ctx) => {
      const result = quietly(() => parseBoth(ctx.name, q as Value, s as Value, ctx));
      if (result === undefined) return [false, new ObjectValue(), new ObjectValue()];
      return [true, toAstValue(result[0]), toAstValue(result[1])];
    },
  },
  {
    name: 'graphql.is_valid', arity: 2,
    impl: ([q, s], ctx) => {
      if (!(typeof q === 'string' || q instanceof ObjectValue) || !(typeof s === 'string' || s instanceof ObjectValue)) return false;
      return quietly(() => parseBoth(ctx.name, q, s, ctx)) !== undefined;
    },
  },
  {
    name: 'graphql.schema_is_valid', arity: 1,
    impl: ([s]) => {
      if (!(typeof s === 'string' || s instanceof ObjectValue)) return false;
      return quietly(() => buildSchema(documentOf(s, parseSchemaDocument) as Node)) !== undefined;
    },
  },
];
