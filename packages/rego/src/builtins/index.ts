/**
 * Registers every named builtin family with the evaluator (side effect of importing this
 * module) and lists the OPA builtins deliberately left out, with the reason.
 */
import { registerBuiltins, type BuiltinDefinition } from '../builtinContract.ts';
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

// Last line of defence: a stray JS exception (e.g. stack overflow on absurdly deep input) still
// surfaces as an eval_builtin_error naming the builtin, never as a raw RangeError/TypeError.
registerBuiltins(ALL_BUILTINS.map((def) => ({ ...def, impl: (args, ctx) => guarded(ctx.name, () => def.impl(args, ctx)) })));
