/**
 * RCAR step 3, `POST /kbs/v0/attest`: session → nonce (byte-exact, single use) →
 * one verification request per piece of evidence → the attestation service's token → session
 * becomes Attested. Causes are logged, never returned: upstream's detail is always
 * "RCAR handshake Attest failed".
 */
import type { Logger } from '@trustee/log';
import { parseAdditionalEvidence, parseAttestationRequest, ProtocolError, TEE_NAMES, type AttestationRequest, type Json, type TeeWireName } from '@trustee/protocol';
import type { AttestationBackend, VerificationRequest } from './backends.ts';
import { KbsError, kbsErrors } from './errors.ts';
import { SessionLimitError, sessionIdFromCookie, type Session, type SessionManager } from './sessions.ts';
import { PolicySelectionRefused, type AttestationPolicySelector } from './policies/attestationPolicyIds.ts';

export interface AttestDeps {
  readonly sessions: SessionManager;
  readonly attestation: AttestationBackend;
  /**
   * Outcome per attempt that reached a session (metrics, audit): the primary evidence as sent
   * and, on success or replay, the token issued (for its claims; the audit never stores it).
   */
  readonly onOutcome?: (tee: string, outcome: 'success' | 'failure' | 'replayed', detail: AttestOutcomeDetail) => void;
  /** The AS policy ids for the session's /auth Request (policies/attestationPolicyIds.ts); default `["default"]`. */
  readonly selector?: AttestationPolicySelector;
  /** The request's logger (`request.log`, with its `reqId`), handed to the attestation service. */
  readonly log?: Logger;
}

export interface AttestOutcomeDetail {
  readonly evidence: unknown;
  readonly token?: string;
}

export interface AttestResult {
  readonly token: string;
  readonly session: Session;
  /** TEE of the primary evidence, for metrics; undefined when the stored token was replayed. */
  readonly tee: TeeWireName | undefined;
}

function isTee(value: string): value is TeeWireName {
  return (TEE_NAMES as readonly string[]).includes(value);
}

/** Builds the verification list as upstream's `__attest` does (`kbs/src/attestation/backend.rs`). */
export function buildVerificationRequests(tee: TeeWireName, body: ReturnType<typeof parseAttestationRequest>): VerificationRequest[] {
  const { nonce } = body['runtime-data'];
  const teePubKey = body['runtime-data']['tee-pubkey'];
  const additional = body['tee-evidence'].additional_evidence;
  const initData = body['init-data'];
  if (initData !== undefined && initData !== null && initData.format !== 'toml') {
    throw kbsErrors.attestFailed(`Unsupported initdata format ${JSON.stringify(initData.format)}`);
  }
  // SE binds with SHA-512, every other TEE with SHA-384 (upstream kbs/src/attestation/coco/builtin.rs).
  const hashFor = (name: TeeWireName): 'sha384' | 'sha512' => (name === 'se' ? 'sha512' : 'sha384');
  const primary: VerificationRequest = {
    tee,
    evidence: body['tee-evidence'].primary_evidence,
    runtimeData: { structured: { 'tee-pubkey': teePubKey as unknown as Json, nonce, 'additional-evidence': additional } },
    runtimeDataHashAlgorithm: hashFor(tee),
    ...(initData !== undefined && initData !== null ? { initData: { toml: initData.body } } : {}),
  };
  let devices: Record<string, Json>;
  try {
    devices = parseAdditionalEvidence(additional);
  } catch (error) {
    throw kbsErrors.attestFailed(`invalid additional_evidence: ${(error as Error).message}`);
  }
  const requests = [primary];
  for (const [name, evidence] of Object.entries(devices)) {
    if (!isTee(name)) throw kbsErrors.attestFailed(`unknown tee ${JSON.stringify(name)} in additional_evidence`);
    requests.push({
      tee: name,
      evidence,
      runtimeData: { structured: { nonce, 'tee-pubkey': teePubKey as unknown as Json } },
      runtimeDataHashAlgorithm: hashFor(name),
    });
  }
  return requests;
}

/** The KBS error for an `/attest` body that is not JSON. */
export const attestBodyNotJson = (message: string): KbsError => kbsErrors.attestFailed(`invalid request body: ${message}`);

/** JSON schema of the `/attest` body: what `parseAttestBody` checks of its shape, no more (the route's fast gate). */
export const ATTEST_BODY_SCHEMA = {
  type: 'object',
  required: ['runtime-data', 'tee-evidence'],
  properties: {
    'runtime-data': { type: 'object', required: ['nonce', 'tee-pubkey'], properties: { nonce: { type: 'string' } } },
    'tee-evidence': { type: 'object', required: ['primary_evidence', 'additional_evidence'], properties: { additional_evidence: { type: 'string' } } },
    'init-data': { anyOf: [{ type: 'null' }, { type: 'object', required: ['format', 'body'], properties: { format: { type: 'string' }, body: { type: 'string' } } }] },
  },
} as const;

/** The `/attest` body as kbs-types reads it, or upstream's error for it. */
export function parseAttestBody(json: unknown): AttestationRequest {
  try {
    return parseAttestationRequest(json);
  } catch (error) {
    if (error instanceof ProtocolError) throw kbsErrors.attestFailed(`invalid request body: ${error.message}`);
    throw error;
  }
}

/** @param request the parsed body (`parseAttestBody`). */
export async function handleAttest(cookieHeader: string | undefined, request: AttestationRequest, deps: AttestDeps): Promise<AttestResult> {
  const id = sessionIdFromCookie(cookieHeader);
  if (id === undefined) throw kbsErrors.attestFailed('no kbs-session-id cookie');
  const session = await deps.sessions.get(id);
  if (session === undefined) throw kbsErrors.attestFailed('session not found or expired');
  if (session.state.status === 'Attested') {
    deps.onOutcome?.(session.state.tee ?? 'unknown', 'replayed', { evidence: request['tee-evidence'].primary_evidence, token: session.state.token });
    return { token: session.state.token, session, tee: undefined };
  }

  const { challenge, request: authRequest } = session.state;
  try {
    const result = await verifySession(session, request, authRequest.tee, challenge.nonce, deps);
    deps.onOutcome?.(authRequest.tee, 'success', { evidence: request['tee-evidence'].primary_evidence, token: result.token });
    return result;
  } catch (error) {
    deps.onOutcome?.(isTee(authRequest.tee) ? authRequest.tee : 'unknown', 'failure', { evidence: request['tee-evidence'].primary_evidence });
    throw error;
  }
}

/** Steps 4-7 for an Authed session: nonce, verification list, single claim, evaluation, Attested. */
async function verifySession(session: Session, request: ReturnType<typeof parseAttestationRequest>, tee: string, nonce: string, deps: AttestDeps): Promise<AttestResult> {
  if (request['runtime-data'].nonce !== nonce) throw kbsErrors.attestFailed('nonce does not match the challenge');
  if (!isTee(tee)) throw kbsErrors.attestFailed('session carries an unknown tee');
  const requests = buildVerificationRequests(tee, request);

  let policyIds: readonly string[] = ['default'];
  if (deps.selector !== undefined && session.state.status === 'Authed') {
    try {
      policyIds = deps.selector.select(tee, session.state.request['extra-params']);
    } catch (error) {
      // The map changed since /auth (a restart with another config): refuse, as /auth would now.
      if (error instanceof PolicySelectionRefused) throw kbsErrors.attestFailed(error.message);
      throw error;
    }
  }

  if (!(await deps.sessions.claimChallenge(session))) throw kbsErrors.attestFailed('challenge already used');
  let token: string;
  try {
    token = await deps.attestation.evaluate(requests, policyIds, deps.log);
  } catch (error) {
    // The nonce is spent: the guest starts over with /auth, as the real client does on 401.
    await deps.sessions.delete(session.id);
    if (error instanceof KbsError) throw error;
    const code = (error as { code?: unknown }).code;
    throw kbsErrors.attestFailed(`evidence rejected${typeof code === 'string' ? ` (${code})` : ''}: ${(error as Error).message}`, error);
  }
  let attested: Session;
  try {
    attested = await deps.sessions.markAttested(session, token, tee);
  } catch (error) {
    if (!(error instanceof SessionLimitError)) throw error;
    await deps.sessions.delete(session.id);
    throw kbsErrors.attestFailed(`token not kept: ${error.message}`);
  }
  return { token, session: attested, tee };
}
