import type { Json } from '@trustee/protocol';

/** What a caller proved about itself, forwarded to a remote RVPS (`authorization` gRPC metadata). */
export interface CallerCredentials {
  /** `Bearer <jwt>` as the caller sent it. */
  readonly authorization?: string;
}

/**
 * The request a call serves, forwarded to a remote RVPS (`x-request-id` gRPC metadata) so its log
 * names the same request as the caller's; a local provider ignores it.
 */
export interface CallContext {
  /** The calling request's id (its logger's `reqId`). */
  readonly requestId?: string | undefined;
}

/**
 * Where reference values come from. The built-in RVPS implements it over the key-value store;
 * a gRPC client to a standalone RVPS implements the same interface.
 */
export interface ReferenceValueProvider {
  /** The stored value of a reference value (not the record wrapper), or `undefined` when absent or expired. */
  query(id: string, context?: CallContext): Promise<Json | undefined>;
  /** Registers an RVPS message (`{"version","type","payload"}` JSON text). */
  register(message: string, credentials?: CallerCredentials, context?: CallContext): Promise<void>;
  /** Ids of the live reference values, sorted. */
  list?(credentials?: CallerCredentials, context?: CallContext): Promise<string[]>;
  /** Deletes one reference value; returns whether it existed. */
  delete?(id: string, credentials?: CallerCredentials, context?: CallContext): Promise<boolean>;
}

/** One reference value as an extractor produces it. */
export interface ExtractedReferenceValue {
  readonly name: string;
  readonly value: Json;
  /** Overrides the default 12-month expiry. */
  readonly expiration?: Date;
}

export interface ExtractorContext {
  readonly now: Date;
}

/**
 * Turns a registration payload into reference values. `sample` ships now; `swid` and `corim`
 * plug in here by registering under their `type` name.
 */
export interface Extractor {
  readonly type: string;
  extract(payload: string, context: ExtractorContext): ExtractedReferenceValue[];
}
