/**
 * providers.aws.sign_req: AWS Signature Version 4 over a request object, as OPA computes it
 * (pure computation, no I/O): validates the request and AWS config like OPA, then adds
 * Authorization, host, x-amz-date (and, for s3/glacier, x-amz-content-sha256; with a session
 * token, x-amz-security-token) headers.
 */
import { createHash, createHmac } from 'node:crypto';
import { operandError, operandErrorText, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, SetValue, isNumber, toBigInt, toRegoText, type Value } from '../value.ts';
import { formatTime, UTC_ZONE, MAX_INT64, MIN_INT64 } from './goTime.ts';
import { marshalJson } from './jsonText.ts';

const REQUIRED_CONFIG = ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'];
const IGNORED_HEADERS = new Set(['authorization', 'user-agent', 'x-amzn-trace-id']);
const HTTP_ALLOWED_KEYS = new Set([
  'method', 'url', 'body', 'enable_redirect', 'force_json_decode', 'force_yaml_decode', 'headers', 'raw_body',
  'tls_use_system_certs', 'tls_ca_cert', 'tls_ca_cert_file', 'tls_ca_cert_env_variable', 'tls_client_cert',
  'tls_client_cert_file', 'tls_client_cert_env_variable', 'tls_client_key', 'tls_client_key_file',
  'tls_client_key_env_variable', 'tls_insecure_skip_verify', 'tls_server_name', 'timeout', 'cache', 'force_cache',
  'force_cache_duration_seconds', 'raise_error', 'caching_mode', 'max_retry_attempts',
]);

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Go's url.URL.EscapedPath: the path as written (empty when the URL has none, where WHATWG URL
 * would say "/"), re-escaped only where the written form is not a valid escaping.
 */
function escapedPath(raw: string, url: URL): string {
  const afterScheme = raw.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  const written = afterScheme.split(/[?#]/, 1)[0] ?? '';
  if (written === '') return '';
  return /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(written) ? written : url.pathname;
}

function signRequest(fn: string, args: readonly Value[]): Value {
  const [reqValue, configValue, timeValue] = args as [Value, Value, Value];
  if (!(reqValue instanceof ObjectValue)) throw operandError(fn, 1, 'object', reqValue);
  if (!(configValue instanceof ObjectValue)) throw operandError(fn, 1, 'object', configValue);
  const config = configValue;
  const missing = REQUIRED_CONFIG.filter((k) => !config.has(k));
  if (missing.length > 0) throw operandErrorText(fn, 2, `missing required AWS config parameters(s): ${toRegoText(SetValue.of(missing))}`);
  const invalid = REQUIRED_CONFIG.filter((k) => typeof config.get(k) !== 'string');
  if (invalid.length > 0) throw operandErrorText(fn, 2, `invalid values for required AWS config parameters(s): ${toRegoText(SetValue.of(invalid))}`);
  const text = (k: string): string => {
    const v = config.get(k);
    return typeof v === 'string' ? v : '';
  };
  if (!isNumber(timeValue)) throw operandError(fn, 1, 'number', timeValue);
  const ns = toBigInt(timeValue);
  if (ns === undefined || ns < MIN_INT64 || ns > MAX_INT64) throw operandErrorText(fn, 3, 'could not convert time_ns value into a unix timestamp');

  const request = reqValue;
  const unknown = request.keys().filter((k) => typeof k !== 'string' || !HTTP_ALLOWED_KEYS.has(k));
  if (unknown.length > 0) throw operandErrorText(fn, 1, `invalid request parameters(s): ${toRegoText(SetValue.of(unknown))}`);
  const absent = ['method', 'url'].filter((k) => !request.has(k));
  if (absent.length > 0) throw operandErrorText(fn, 1, `missing required request parameters(s): ${toRegoText(SetValue.of(absent))}`);
  const headersValue = request.get('headers') ?? new ObjectValue();
  if (!(headersValue instanceof ObjectValue)) throw operandError(fn, 0, 'object', headersValue);
  const badTypes = ['method', 'url'].filter((k) => typeof request.get(k) !== 'string');
  if (badTypes.length > 0) throw operandErrorText(fn, 1, `invalid values for required request parameters(s): ${toRegoText(SetValue.of(badTypes))}`);
  let url: URL;
  try {
    url = new URL(request.get('url') as string);
  } catch {
    throw operandErrorText(fn, 1, `invalid url ${JSON.stringify(request.get('url'))}`);
  }
  const method = request.get('method') as string;

  const disable = config.get('disable_payload_signing');
  if (disable !== undefined && typeof disable !== 'boolean') throw operandErrorText(fn, 2, "invalid value for 'disable_payload_signing' in AWS config");

  const rawBody = request.get('raw_body');
  const body = request.get('body');
  const bodyBytes = rawBody !== undefined ? (typeof rawBody === 'string' ? rawBody : '') : body !== undefined ? marshalJson(body) : '';
  const payloadHash = disable === true ? 'UNSIGNED-PAYLOAD' : sha256Hex(Buffer.from(bodyBytes, 'utf8'));

  const service = text('aws_service');
  const region = text('aws_region');
  const dateNow = formatTime(ns, UTC_ZONE, '20060102');
  const isoNow = formatTime(ns, UTC_ZONE, '20060102T150405Z');
  const awsHeaders = new Map<string, string>([['host', url.host], ['x-amz-date', isoNow]]);
  if (service === 's3' || service === 'glacier') awsHeaders.set('x-amz-content-sha256', payloadHash);
  const token = config.get('aws_session_token');
  if (typeof token === 'string' && token !== '') awsHeaders.set('x-amz-security-token', token);

  const original = new Map<string, string>();
  for (const [k, v] of headersValue.entries()) original.set(typeof k === 'string' ? k : toRegoText(k), typeof v === 'string' ? v : '');
  const toSign = new Map<string, string>(awsHeaders);
  for (const [k, v] of original) {
    const lower = k.toLowerCase();
    if (IGNORED_HEADERS.has(lower)) continue;
    // Like OPA, caller-provided values are what gets signed for a header of the same name,
    // while the returned headers carry the computed AWS values.
    toSign.set(lower, v);
  }
  const names = [...toSign.keys()].sort();
  const canonical = [
    method,
    escapedPath(request.get('url') as string, url),
    url.search.startsWith('?') ? url.search.slice(1) : url.search,
    ...names.map((n) => `${n}:${toSign.get(n) ?? ''}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${dateNow}/${region}/${service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${isoNow}\n${scope}\n${sha256Hex(canonical)}`;
  let key = hmac(`AWS4${text('aws_secret_access_key')}`, dateNow);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const signature = hmac(key, stringToSign).toString('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${text('aws_access_key')}/${scope},SignedHeaders=${names.join(';')},Signature=${signature}`;

  const headers = new ObjectValue();
  for (const [k, v] of original) headers.set(k, v);
  headers.set('Authorization', authorization);
  for (const [k, v] of awsHeaders) headers.set(k, v);
  return request.clone().set('headers', headers);
}

export const awsBuiltins: BuiltinDefinition[] = [
  { name: 'providers.aws.sign_req', arity: 3, impl: (args, ctx) => signRequest(ctx.name, args) },
];
