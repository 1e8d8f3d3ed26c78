export {
  attestationServiceDefinition,
  referenceValueServiceDefinition,
  AttestationServiceClient,
  ReferenceValueProviderServiceClient,
  healthServiceDefinition,
  HealthClient,
} from './protos.ts';
export type * from './messages.ts';
