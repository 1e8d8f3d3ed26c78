export { TrusteeError, UsageError, errorClassWithCode, errorCodeOf, type ErrorStatus, type ErrorStatusTable } from './trusteeError.ts';
