import { TrusteeError } from '@trustee/errors';

/**
 * An admin call refused: `permission_denied` when the service has no admin key configured (there
 * is no "allow all" mode), `unauthenticated` when the bearer token is missing or rejected.
 */
export class AdminGateError extends TrusteeError<'unauthenticated' | 'permission_denied'> {}
