/**
 * `[attestation_service] type = "coco_as_grpc"` (upstream trustee
 * `kbs/src/attestation/coco/grpc.rs`): the KBS's attestation backend is a remote attestation
 * service (`services/as`, or upstream's grpc-as) reached over gRPC. Evaluation and policies go to
 * `attestation.AttestationService`, reference values to `reference.ReferenceValueProviderService`
 * on the same address (upstream's KBS does the same; the AS proxies them into its RVPS).
 *
 * Wire encoding as upstream's client (upstream kbs/src/attestation/coco/grpc.rs): evidence =
 * base64url-no-pad of the evidence's JSON text, structured runtime data as JSON text, init-data
 * as TOML text, `runtime_data_hash_algorithm` from the request (the KBS asks sha384, sha512 for
 * se), policy text base64url-no-pad.
 *
 * Differences from upstream, on purpose:
 * - One HTTP/2 channel; `pool_size` bounds the RPCs in flight (what upstream's pool of
 *   exclusive connections bounds), further calls wait for a free slot within their deadline.
 * - Deadlines: 300 s for AttestationEvaluate (upstream's per-request timeout; collateral
 *   fetches can be slow), 30 s for the admin RPCs.
 * - UNAVAILABLE from the transport (no connection, connection lost) is retried (3 times,
 *   100/200/400 ms) for every RPC, AttestationEvaluate included; an UNAVAILABLE the AS itself
 *   answered (its collateral source or RVPS is down) is final. All of them are idempotent: the AS keeps no per-evaluation state (the single use
 *   of the nonce is the KBS's, settled before the call), a policy set or a registration repeated
 *   with the same content stores the same thing. A repeated evaluation costs a second
 *   verification at most; it can never turn a refusal into a token.
 * - SetAttestationPolicy and RegisterReferenceValue carry the admin's `authorization` header as
 *   gRPC metadata, so an AS that requires its own admin token (services/as `admin`) accepts the
 *   KBS admin's token when both trust the same identity provider.
 * - The KBS's readiness (`/readyz`) probes `grpc.health.v1.Health/Check("attestation.AttestationService")`;
 *   an AS that does not answer (yet) makes the KBS not ready, never stops its start, so the
 *   services of the microservices layout may start in any order. A guest meanwhile gets 503
 *   ServiceUnavailable (upstream connects lazily and fails the guest with a 401).
 */
import * as grpc from '@grpc/grpc-js';
import { AttestationServiceClient, HealthClient, PEER_CHANNEL_OPTIONS, REQUEST_ID_METADATA, ReferenceValueProviderServiceClient } from '@trustee/grpc';
import { requestIdOf } from '@trustee/log';
import type {
  AttestationResponse,
  HealthCheckResponse,
  IndividualAttestationRequest,
  ReferenceValueQueryResponse,
} from '@trustee/grpc';
import { b64url, type Json } from '@trustee/protocol';
import type { AdminCredentials, AttestationBackend, VerificationRequest } from './backends.ts';
import { TrusteeError } from '@trustee/errors';

export interface GrpcAttestationOptions {
  /** `http://host:port` or `https://host:port`. */
  readonly asAddr: string;
  /** Most RPCs in flight at once (upstream `pool_size`). */
  readonly poolSize: number;
  /** TLS roots for `https://` (default: the system's). */
  readonly rootCerts?: Buffer;
  /** Deadline of AttestationEvaluate, default 300 s (upstream). */
  readonly evaluateDeadlineMs?: number;
  /** Deadline of the other RPCs, default 30 s. */
  readonly callDeadlineMs?: number;
  /** Retries after UNAVAILABLE, default 3. */
  readonly retries?: number;
  /** First backoff, doubled after each retry, default 100 ms. */
  readonly backoffMs?: number;
}

export interface GrpcAttestationBackend extends AttestationBackend {
  /** The `scheme://host:port` dialled. */
  readonly address: string;
  /**
   * Waits up to `waitMs` for the AS to answer its health check (SERVING, or a server without
   * the health service). Throws RemoteAttestationError otherwise.
   */
  health(waitMs?: number): Promise<void>;
  close(): void;
}

/**
 * A failed RPC. `code` is the AS's own error code when it sent one (`services/as` prefixes its
 * details with e.g. `verification_failed:`), else the gRPC status name (`UNAVAILABLE`,
 * `DEADLINE_EXCEEDED`, ...). The KBS error registry decides the HTTP answer (401 for /attest).
 */
export class RemoteAttestationError extends TrusteeError {
  readonly grpcStatus: grpc.status | undefined;

  constructor(code: string, message: string, grpcStatus: grpc.status | undefined, options?: { cause?: unknown }) {
    super(code, message, options);
    this.grpcStatus = grpcStatus;
  }
}

type UnaryCallback<T> = (error: grpc.ServiceError | null, response?: T) => void;
type UnaryMethod<T> = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: UnaryCallback<T>) => grpc.ClientUnaryCall;

const HEALTH_SERVICE = 'attestation.AttestationService';
const AS_CODE = /^([a-z][a-z_]{2,40}): /;

/** `scheme://host[:port]` → grpc-js target and TLS flag (ports default to 80 / 443). */
export function grpcTarget(address: string): { url: string; target: string; tls: boolean } {
  const url = new URL(address);
  const tls = url.protocol === 'https:';
  const port = url.port === '' ? (tls ? '443' : '80') : url.port;
  // URL keeps IPv6 hostnames bracketed, as grpc-js targets want them.
  return { url: `${url.protocol}//${url.host}`, target: `${url.hostname}:${port}`, tls };
}

/** Encodes one KBS verification request as upstream's `IndividualAttestationRequest`. */
export function toGrpcRequest(request: VerificationRequest): IndividualAttestationRequest {
  const message: IndividualAttestationRequest = {
    tee: request.tee,
    evidence: b64url.encode(new TextEncoder().encode(JSON.stringify(request.evidence))),
    runtime_data_hash_algorithm: request.runtimeDataHashAlgorithm ?? 'sha384',
  };
  if (request.runtimeData !== undefined) {
    if ('structured' in request.runtimeData) message.structured_runtime_data = JSON.stringify(request.runtimeData.structured);
    else message.raw_runtime_data = b64url.encode(request.runtimeData.raw);
  }
  if (request.initData !== undefined) {
    if ('toml' in request.initData) message.init_data_toml = request.initData.toml;
    else message.init_data_digest = b64url.encode(request.initData.digest);
  }
  return message;
}

/** Bounds the calls in flight; waiters give up at their deadline. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(deadline: number): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(new RemoteAttestationError('DEADLINE_EXCEEDED', 'no free attestation service connection slot before the deadline (pool_size reached)', grpc.status.DEADLINE_EXCEEDED));
      }, Math.max(0, deadline - Date.now()));
      this.#waiting.push(grant);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free += 1;
    else next();
  }
}

/**
 * Creates the backend; no connection is made until the first call or `health()`.
 *
 * @example
 * const as = createGrpcAttestationBackend({ asAddr: 'http://as:50004', poolSize: 100 });
 * await as.health(5000);
 * const token = await as.evaluate(requests, ['default']);
 */
export function createGrpcAttestationBackend(options: GrpcAttestationOptions): GrpcAttestationBackend {
  const { url, target, tls } = grpcTarget(options.asAddr);
  const evaluateDeadlineMs = options.evaluateDeadlineMs ?? 300_000;
  const callDeadlineMs = options.callDeadlineMs ?? 30_000;
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 100;
  const credentials = tls ? grpc.credentials.createSsl(options.rootCerts ?? null) : grpc.credentials.createInsecure();
  const clientOptions = { ...PEER_CHANNEL_OPTIONS, 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
  const attestation = new AttestationServiceClient(target, credentials, clientOptions);
  // The three services share the attestation client's channel: one connection to the AS.
  const channelOverride = attestation.getChannel();
  const reference = new ReferenceValueProviderServiceClient(target, credentials, { channelOverride });
  const healthClient = new HealthClient(target, credentials, { channelOverride });
  const slots = new Slots(options.poolSize);

  function callOnce<T>(client: grpc.Client, method: string, request: object, deadline: number, credentials?: AdminCredentials, requestId?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fn = (client as unknown as Record<string, UnaryMethod<T> | undefined>)[method];
      if (fn === undefined) {
        reject(new Error(`no gRPC method ${method}`));
        return;
      }
      const metadata = new grpc.Metadata();
      if (credentials?.authorization !== undefined) metadata.set('authorization', credentials.authorization);
      // services/as uses it as the reqId of this call's log lines: one id across both logs.
      if (requestId !== undefined) metadata.set(REQUEST_ID_METADATA, requestId);
      fn.call(client, request, metadata, { deadline }, (error, response) => {
        if (error !== null) reject(error);
        else resolve(response as T);
      });
    });
  }

  async function call<T>(client: grpc.Client, method: string, request: object, deadlineMs: number, credentials?: AdminCredentials, requestId?: string): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let delay = backoffMs;
    for (let attempt = 1; ; attempt += 1) {
      await slots.acquire(deadline);
      try {
        return await callOnce<T>(client, method, request, deadline, credentials, requestId);
      } catch (error) {
        const status = (error as Partial<grpc.ServiceError>).code;
        if (status === grpc.status.UNAVAILABLE && !answeredByAs(error) && attempt <= retries && Date.now() + delay < deadline) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay *= 2;
          continue;
        }
        throw fromStatus(error, method, url, attempt);
      } finally {
        slots.release();
      }
    }
  }

  return {
    address: url,
    async evaluate(requests, policyIds, log) {
      const response = await call<AttestationResponse>(
        attestation,
        'AttestationEvaluate',
        { verification_requests: requests.map(toGrpcRequest), policy_ids: [...policyIds] },
        evaluateDeadlineMs,
        undefined,
        requestIdOf(log),
      );
      if (typeof response.attestation_token !== 'string' || response.attestation_token === '') {
        throw new RemoteAttestationError('empty_token', `attestation service ${url} AttestationEvaluate: answered without a token`, undefined);
      }
      return response.attestation_token;
    },
    async setPolicy(policyId, regoSource, credentials) {
      await call(attestation, 'SetAttestationPolicy', { policy_id: policyId, policy: b64url.encode(new TextEncoder().encode(regoSource)) }, callDeadlineMs, credentials);
    },
    async registerReferenceValue(message, credentials) {
      await call(reference, 'RegisterReferenceValue', { message }, callDeadlineMs, credentials);
    },
    async queryReferenceValue(id) {
      const response = await call<ReferenceValueQueryResponse>(reference, 'QueryReferenceValue', { reference_value_id: id }, callDeadlineMs);
      const text = response.reference_value_results;
      if (text === undefined || text === null) return undefined;
      try {
        return JSON.parse(text) as Json;
      } catch {
        throw new RemoteAttestationError('invalid_response', `attestation service ${url} QueryReferenceValue: the reference value is not JSON`, undefined);
      }
    },
    async health(waitMs = 5000) {
      const until = Date.now() + waitMs;
      let delay = 100;
      for (;;) {
        try {
          const answer = await callOnce<HealthCheckResponse>(healthClient, 'Check', { service: HEALTH_SERVICE }, Math.min(until, Date.now() + 2000));
          if (answer.status !== 'SERVING') throw new RemoteAttestationError('NOT_SERVING', `attestation service ${url} reports ${answer.status}`, undefined);
          return;
        } catch (error) {
          if (error instanceof RemoteAttestationError) throw error;
          const status = (error as Partial<grpc.ServiceError>).code;
          // A server without the health service still answered: it is up.
          if (status === grpc.status.UNIMPLEMENTED) return;
          if (Date.now() + delay >= until) throw fromStatus(error, 'Health/Check', url, 1);
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 1000);
        }
      }
    },
    close() {
      healthClient.close();
      reference.close();
      attestation.close();
    },
  };
}

/**
 * `services/as` prefixes its details with its own error code (`collateral_unavailable: …`,
 * `rvps_unavailable: …`): the AS is up and a dependency of its is not; repeating at once would
 * only multiply the load on that dependency (e.g. AMD KDS), so such answers are final.
 */
function answeredByAs(error: unknown): boolean {
  const details = (error as Partial<grpc.ServiceError>).details;
  return typeof details === 'string' && AS_CODE.test(details);
}

function fromStatus(error: unknown, method: string, url: string, attempts: number): RemoteAttestationError {
  if (error instanceof RemoteAttestationError) return error;
  const status = error as Partial<grpc.ServiceError>;
  const name = status.code === undefined ? 'UNKNOWN' : (grpc.status[status.code] ?? String(status.code));
  const detail = status.details ?? (error instanceof Error ? error.message : String(error));
  const asCode = AS_CODE.exec(detail)?.[1];
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new RemoteAttestationError(asCode ?? name, `attestation service ${url} ${method}: ${name}${tries}: ${detail}`, status.code, { cause: error });
}
