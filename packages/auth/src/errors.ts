/** A `bearer_jwt` / `admin` setting that cannot be used; the message names the config path. */
export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/**
 * An admin call refused: `permission_denied` when the service has no admin key configured (there
 * is no "allow all" mode), `unauthenticated` when the bearer token is missing or rejected.
 */
export class AdminGateError extends Error {
  readonly code: 'unauthenticated' | 'permission_denied';

  constructor(code: 'unauthenticated' | 'permission_denied', message: string) {
    super(message);
    this.name = 'AdminGateError';
    this.code = code;
  }
}
