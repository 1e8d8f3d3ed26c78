/**
 * The KBS's attestation-token errors (upstream kbs/src/token/error.rs): a token that fails
 * verification, or claims without a usable TEE public key. A trusted file or URL that cannot be
 * loaded is a ConfigError (@trustee/config), like every other bad setting.
 */
import { TrusteeError } from '@trustee/errors';

export const TOKEN_ERROR_CODES = [
  /** Signature, chain, expiry, kid or alg rejected. */
  'token_invalid',
  /** The claims carry a `tee-pubkey` that does not parse. */
  'tee_pubkey_invalid',
] as const;

export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

export class TokenError extends TrusteeError<TokenErrorCode> {}
