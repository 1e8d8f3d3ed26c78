export { verifyBearerJwt, jwsAlgorithmsFor, publicKeySource, jwkSetSource } from './verifyBearerJwt.ts';
export type { JwtKeySource, BearerJwtConstraints } from './verifyBearerJwt.ts';
