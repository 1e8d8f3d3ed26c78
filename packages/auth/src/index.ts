export { verifyBearerJwt, jwsAlgorithmsFor, publicKeySource, jwkSetSource } from './verifyBearerJwt.ts';
export type { JwtKeySource, BearerJwtConstraints } from './verifyBearerJwt.ts';
export { BearerJwtAuthenticator } from './bearerJwtAuthenticator.ts';
export { bearerJwtSchema, identityProviderSchema, parseBearerJwtConfig, type IdentityProviderConfig } from './bearerJwtConfig.ts';
export { loadJwkSet, loadPublicKey, readUri } from './keySources.ts';
export { createAdminGate, type AdminGate } from './adminGate.ts';
export { AdminGateError } from './errors.ts';
