export { verifyBearerJwt, jwsAlgorithmsFor, publicKeySource, jwkSetSource } from './verifyBearerJwt.ts';
export type { JwtKeySource, BearerJwtConstraints } from './verifyBearerJwt.ts';
export { BearerJwtAuthenticator } from './bearerJwtAuthenticator.ts';
export { parseBearerJwtConfig, parseIdentityProvider, type IdentityProviderConfig } from './bearerJwtConfig.ts';
export { loadJwkSet, loadPublicKey, readUri } from './keySources.ts';
export { createAdminGate, type AdminGate } from './adminGate.ts';
export { AdminGateError, AuthConfigError } from './errors.ts';
