/**
 * http.send: the request object is validated exactly like OPA (unknown and missing keys are
 * eval_type_errors), then the call is refused, because policies evaluated by the KBS/AS must
 * never reach the network. Declaring it keeps policies that mock it (`with http.send as ...`)
 * compiling. opa.runtime: the empty runtime description. test.sleep: OPA's test helper, a
 * bounded blocking sleep.
 */
import { builtinError, limitError, operandErrorText, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, toRegoText, type Value } from '../value.ts';
import { objectArg, stringArg } from './args.ts';
import { GoTimeError, parseDuration } from './goTime.ts';

const ALLOWED_KEYS = new Set([
  'method', 'url', 'body', 'enable_redirect', 'force_json_decode', 'force_yaml_decode', 'headers', 'raw_body',
  'tls_use_system_certs', 'tls_ca_cert', 'tls_ca_cert_file', 'tls_ca_cert_env_variable', 'tls_client_cert',
  'tls_client_cert_file', 'tls_client_cert_env_variable', 'tls_client_key', 'tls_client_key_file',
  'tls_client_key_env_variable', 'tls_insecure_skip_verify', 'tls_server_name', 'timeout', 'cache', 'force_cache',
  'force_cache_duration_seconds', 'raise_error', 'caching_mode', 'max_retry_attempts',
]);
const REQUIRED_KEYS = ['method', 'url'];

export const httpBuiltins: BuiltinDefinition[] = [
  {
    name: 'http.send', arity: 1, nondeterministic: true,
    impl: ([r], ctx) => {
      const request = objectArg(ctx.name, r as Value, 1);
      const invalid = request.keys().filter((k) => typeof k !== 'string' || !ALLOWED_KEYS.has(k));
      if (invalid.length > 0) throw operandErrorText(ctx.name, 1, `invalid request parameters(s): ${toRegoText(SetValue.of(invalid))}`);
      const missing = REQUIRED_KEYS.filter((k) => !request.has(k));
      if (missing.length > 0) throw operandErrorText(ctx.name, 1, `missing required request parameters(s): ${toRegoText(SetValue.of(missing))}`);
      throw builtinError(ctx.name, 'network access is disabled: policies evaluated by this engine cannot send HTTP requests');
    },
  },
  {
    // OPA returns an empty object when no runtime (config, env, version) is attached, which is
    // always the case for this embedded engine.
    name: 'opa.runtime', arity: 0, nondeterministic: true,
    impl: () => new ObjectValue(),
  },
  {
    name: 'test.sleep', arity: 1, nondeterministic: true,
    impl: ([d], ctx) => {
      let ns: bigint;
      try {
        ns = parseDuration(stringArg(ctx.name, d as Value, 1));
      } catch (error) {
        if (error instanceof GoTimeError) throw builtinError(ctx.name, error.message);
        throw error;
      }
      const ms = Number(ns / 1_000_000n);
      // A sleep that would outlast the evaluation's deadline aborts it now instead of blocking.
      if (ms > ctx.remainingMs()) throw limitError(ctx.name, `sleeping ${ms} ms would exceed the evaluation deadline`);
      if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return null;
    },
  },
];
