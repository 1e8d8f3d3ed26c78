export { TrusteeError, errorClassWithCode, errorCodeOf, type ErrorStatus, type ErrorStatusTable } from './trusteeError.ts';
