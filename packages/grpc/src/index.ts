export {
  attestationServiceDefinition,
  referenceValueServiceDefinition,
  AttestationServiceClient,
  ReferenceValueProviderServiceClient,
  healthServiceDefinition,
  HealthClient,
} from './protos.ts';
export type * from './messages.ts';
export {
  DeferredStart,
  DependencyUnavailableError,
  healthCheckHandler,
  LIVENESS_SERVICE,
  PEER_CHANNEL_OPTIONS,
  Readiness,
  type DeferredStartOptions,
  type DependencyCheck,
  type DependencyStatus,
  type ReadinessOptions,
  type ReadinessReport,
} from './readiness.ts';
export { callerRequestId, MAX_REQUEST_ID_LENGTH, REQUEST_ID_METADATA } from './requestId.ts';
