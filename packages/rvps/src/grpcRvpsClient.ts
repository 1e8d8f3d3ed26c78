/**
 * A remote RVPS over gRPC (`rvps_config.type = "GrpcRemote"`, upstream trustee
 * `attestation-service/src/rvps/grpc.rs`): the same `ReferenceValueProvider` as the built-in RVPS,
 * spoken over `reference.ReferenceValueProviderService`.
 *
 * Differences from upstream's client, on purpose: one HTTP/2 channel (grpc-js multiplexes calls;
 * upstream pools 10 connections), a 10 s deadline on every call, and retries with exponential
 * backoff while the RVPS is UNAVAILABLE instead of a health RPC before every query.
 */
import * as grpc from '@grpc/grpc-js';
import { PEER_CHANNEL_OPTIONS, REQUEST_ID_METADATA, ReferenceValueProviderServiceClient } from '@trustee/grpc';
import type {
  ReferenceValueDeleteResponse,
  ReferenceValueListResponse,
  ReferenceValueQueryResponse,
} from '@trustee/grpc';
import { ReferenceValueError, type ReferenceValueErrorCode } from './referenceValueError.ts';
import type { Json } from '@trustee/protocol';
import type { CallContext, CallerCredentials, ReferenceValueProvider } from './referenceValueProvider.ts';
import { checkReferenceValue } from './referenceValueLimits.ts';

export interface GrpcRvpsClientOptions {
  /** `host:port` (→ `http://host:port`, upstream's rule), `http://host:port` or `https://host:port`. */
  readonly address: string;
  /** Deadline of each call, default 10 s. */
  readonly deadlineMs?: number;
  /** Retries after an UNAVAILABLE answer, default 3 (so at most 4 attempts). */
  readonly retries?: number;
  /** First backoff, doubled after each retry; default 100 ms. */
  readonly backoffMs?: number;
  /** TLS roots for `https://` (default: the system's). */
  readonly rootCerts?: Buffer;
}

export interface GrpcRvpsClient extends ReferenceValueProvider {
  list(credentials?: CallerCredentials, context?: CallContext): Promise<string[]>;
  delete(id: string, credentials?: CallerCredentials, context?: CallContext): Promise<boolean>;
  /** The remote records as JSON texts `{"name","expiration","value"}` (trustee-ts RVPS addition). */
  listRecords(credentials?: CallerCredentials, context?: CallContext): Promise<string[]>;
  /**
   * Upstream's health probe: `QueryReferenceValue("__healthcheck__")` answered within `timeoutMs`
   * (default 1 s). Throws `rvps_error` when the RVPS does not answer.
   */
  health(timeoutMs?: number): Promise<void>;
  /** The `scheme://host:port` actually dialled. */
  readonly address: string;
  close(): void;
}

type UnaryMethod<T> = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: T) => void) => void;

export const HEALTHCHECK_REFERENCE_VALUE_ID = '__healthcheck__';

/**
 * Parses an RVPS address with upstream's default scheme (`http://` when none is given).
 *
 * @example rvpsTarget('127.0.0.1:50003') // { url: 'http://127.0.0.1:50003', target: '127.0.0.1:50003', tls: false }
 * @throws ReferenceValueError `invalid_config` for other schemes, paths or a missing port.
 */
export function rvpsTarget(address: string): { url: string; target: string; tls: boolean } {
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address) ? address : `http://${address}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ReferenceValueError('invalid_config', `rvps_config.address: ${JSON.stringify(address)} is not host:port or a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ReferenceValueError('invalid_config', `rvps_config.address: scheme ${parsed.protocol} is not supported (http or https)`);
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '') throw new ReferenceValueError('invalid_config', 'rvps_config.address: must not have a path');
  const tls = parsed.protocol === 'https:';
  const port = parsed.port === '' ? (tls ? '443' : '80') : parsed.port;
  return { url: `${parsed.protocol}//${parsed.host}`, target: `${parsed.hostname}:${port}`, tls };
}

/**
 * Creates the client. No connection is made until the first call; call `health()` at startup to
 * fail fast like upstream.
 *
 * @example
 * const rvps = createGrpcRvpsClient({ address: config.rvps.address });
 * await rvps.health();
 * const as = await createAttestationService({ store, config, referenceValues: rvps });
 */
export function createGrpcRvpsClient(options: GrpcRvpsClientOptions): GrpcRvpsClient {
  const { url, target, tls } = rvpsTarget(options.address);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 100;
  const credentials = tls ? grpc.credentials.createSsl(options.rootCerts ?? null) : grpc.credentials.createInsecure();
  const client = new ReferenceValueProviderServiceClient(target, credentials, PEER_CHANNEL_OPTIONS);

  function callOnce<T>(method: string, request: object, timeoutMs: number, credentials: CallerCredentials | undefined, context: CallContext | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fn = (client as unknown as Record<string, UnaryMethod<T> | undefined>)[method];
      if (fn === undefined) {
        reject(new Error(`no method ${method}`));
        return;
      }
      const metadata = new grpc.Metadata();
      // The caller's credentials travel on: the RVPS, not the AS, decides on its admin calls.
      if (credentials?.authorization !== undefined) metadata.set('authorization', credentials.authorization);
      // The RVPS logs the call under it (services/rvps/src/grpcServer.ts): one id across both logs.
      if (context?.requestId !== undefined) metadata.set(REQUEST_ID_METADATA, context.requestId);
      fn.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (error: grpc.ServiceError | null, response?: T) => {
        if (error !== null) reject(error);
        else resolve(response as T);
      });
    });
  }

  async function call<T>(method: string, request: object, options: { credentials?: CallerCredentials | undefined; context?: CallContext | undefined; timeoutMs?: number; attempts?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? deadlineMs;
    const attempts = options.attempts ?? retries + 1;
    let delay = backoffMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await callOnce<T>(method, request, timeoutMs, options.credentials, options.context);
      } catch (error) {
        const status = (error as Partial<grpc.ServiceError>).code;
        if (status === grpc.status.UNAVAILABLE && attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay *= 2;
          continue;
        }
        throw fromStatus(error, method, url, attempt);
      }
    }
  }

  return {
    address: url,
    async query(id, context) {
      const response = await call<ReferenceValueQueryResponse>('QueryReferenceValue', { reference_value_id: id }, { context });
      const text = response.reference_value_results;
      if (text === undefined || text === null) return undefined;
      let value: Json;
      try {
        value = JSON.parse(text) as Json;
      } catch {
        throw new ReferenceValueError('rvps_error', `remote RVPS ${url} returned a reference value that is not JSON`);
      }
      // A remote RVPS (upstream's included) may hold values ours refuses at registration; such a
      // value fails this appraisal (closed) instead of overrunning the policy engine.
      try {
        checkReferenceValue(id, value);
      } catch (error) {
        throw new ReferenceValueError('rvps_error', `remote RVPS ${url} returned an unusable ${(error as Error).message}`);
      }
      return value;
    },
    async register(message, credentials, context) {
      await call('RegisterReferenceValue', { message }, { credentials, context });
    },
    async listRecords(credentials, context) {
      return (await call<ReferenceValueListResponse>('ListReferenceValues', {}, { credentials, context })).reference_values;
    },
    async list(credentials, context) {
      const names: string[] = [];
      for (const text of await this.listRecords(credentials, context)) {
        let record: unknown;
        try {
          record = JSON.parse(text);
        } catch {
          throw new ReferenceValueError('rvps_error', `remote RVPS ${url} listed a record that is not JSON`);
        }
        const name = typeof record === 'object' && record !== null ? (record as { name?: unknown }).name : undefined;
        if (typeof name !== 'string') throw new ReferenceValueError('rvps_error', `remote RVPS ${url} listed a record without a name`);
        names.push(name);
      }
      return names.sort();
    },
    async delete(id, credentials, context) {
      return (await call<ReferenceValueDeleteResponse>('DeleteReferenceValue', { reference_value_id: id }, { credentials, context })).deleted;
    },
    async health(timeoutMs = 1000) {
      await call('QueryReferenceValue', { reference_value_id: HEALTHCHECK_REFERENCE_VALUE_ID }, { timeoutMs, attempts: 1 });
    },
    close() {
      client.close();
    },
  };
}

function fromStatus(error: unknown, method: string, url: string, attempts: number): ReferenceValueError {
  const status = error as Partial<grpc.ServiceError>;
  const name = status.code === undefined ? 'UNKNOWN' : (grpc.status[status.code] ?? String(status.code));
  const detail = status.details ?? (error as Error).message ?? String(error);
  const code = classify(status.code, method);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new ReferenceValueError(code, `remote RVPS ${url} ${method}: ${name}${tries}: ${detail}`, { cause: error });
}

/**
 * The RVPS's answer, kept for what it says: only a transport failure (no connection, deadline)
 * is an outage the caller may retry (`rvps_error`); the RVPS's own refusals keep their meaning.
 * Upstream's RVPS answers every failure with ABORTED; for a registration that is the message
 * being refused.
 */
function classify(code: grpc.status | undefined, method: string): ReferenceValueErrorCode {
  switch (code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
      return 'rvps_error';
    case grpc.status.UNAUTHENTICATED:
      return 'unauthenticated';
    case grpc.status.PERMISSION_DENIED:
      return 'permission_denied';
    case grpc.status.NOT_FOUND:
      return 'not_found';
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.RESOURCE_EXHAUSTED:
      return method === 'RegisterReferenceValue' ? 'invalid_reference_value' : 'invalid_request';
    case grpc.status.ABORTED:
      return method === 'RegisterReferenceValue' ? 'invalid_reference_value' : 'rvps_failed';
    default:
      return 'rvps_failed';
  }
}
