/**
 * Every named builtin family as one list, the table builder and the default table the compiler
 * uses when its caller gives none, and the OPA builtins deliberately left out, with the reason.
 * Importing this module registers nothing: tables are values passed to the compiler.
 */
import type { BuiltinDefinition, BuiltinTable } from '../builtinContract.ts';
import { guarded } from './args.ts';
import { awsBuiltins } from './aws.ts';
import { collectionBuiltins } from './collections.ts';
import { cryptoBuiltins } from './crypto.ts';
import { encodingBuiltins } from './encoding.ts';
import { graphBuiltins } from './graph.ts';
import { graphqlBuiltins } from './graphql.ts';
import { httpBuiltins } from './http.ts';
import { jsonOpsBuiltins } from './jsonOps.ts';
import { jsonSchemaBuiltins } from './jsonSchema.ts';
import { jwtBuiltins } from './jwt.ts';
import { netBuiltins } from './net.ts';
import { numberBuiltins } from './numbers.ts';
import { regexBuiltins } from './regex.ts';
import { regoParseModuleBuiltins } from './regoParseModule.ts';
import { semverBuiltins } from './semver.ts';
import { stringBuiltins } from './strings.ts';
import { timeBuiltins } from './time.ts';
import { unitBuiltins } from './units.ts';
import { uuidBuiltins } from './uuid.ts';
import { x509Builtins } from './x509.ts';

/**
 * OPA builtins this directory does not provide (or provides only as a refusal), and why; printed
 * by the conformance runner. rego.metadata.rule/chain are implemented by the evaluator itself.
 */
export const SKIPPED_BUILTINS: Readonly<Record<string, string>> = {
  'http.send': 'declared and validates its request like OPA (so `with http.send as ...` mocks work), then refuses: no network I/O from policies',
  'net.lookup_ip_addr': 'performs DNS resolution (network I/O)',
};

/** Every builtin definition provided by this directory. */
export const ALL_BUILTINS: readonly BuiltinDefinition[] = [
  ...awsBuiltins,
  ...collectionBuiltins,
  ...cryptoBuiltins,
  ...encodingBuiltins,
  ...graphBuiltins,
  ...graphqlBuiltins,
  ...httpBuiltins,
  ...jsonOpsBuiltins,
  ...jsonSchemaBuiltins,
  ...jwtBuiltins,
  ...netBuiltins,
  ...numberBuiltins,
  ...regexBuiltins,
  ...regoParseModuleBuiltins,
  ...semverBuiltins,
  ...stringBuiltins,
  ...timeBuiltins,
  ...unitBuiltins,
  ...uuidBuiltins,
  ...x509Builtins,
];

/**
 * A table of the given definitions by name (a later definition of the same name replaces an
 * earlier one). Last line of defence: each impl is wrapped so that a stray JS exception (e.g.
 * stack overflow on absurdly deep input) still surfaces as an eval_builtin_error naming the
 * builtin, never as a raw RangeError/TypeError.
 */
export function builtinTable(defs: readonly BuiltinDefinition[]): BuiltinTable {
  const table = new Map<string, BuiltinDefinition>();
  for (const def of defs) table.set(def.name, { ...def, impl: (args, ctx) => guarded(ctx.name, () => def.impl(args, ctx)) });
  return table;
}

/** The table of every builtin in this directory: what `compilePolicy` uses unless told otherwise. */
export const DEFAULT_BUILTINS: BuiltinTable = builtinTable(ALL_BUILTINS);
