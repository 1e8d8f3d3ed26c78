/** A `bearer_jwt` / `admin` setting that cannot be used; the message names the config path. */
import { TrusteeError, errorClassWithCode } from '@trustee/errors';
export class AuthConfigError extends errorClassWithCode('invalid_config') {}

/**
 * An admin call refused: `permission_denied` when the service has no admin key configured (there
 * is no "allow all" mode), `unauthenticated` when the bearer token is missing or rejected.
 */
export class AdminGateError extends TrusteeError<'unauthenticated' | 'permission_denied'> {}
