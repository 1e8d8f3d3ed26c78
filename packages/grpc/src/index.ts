export {
  attestationServiceDefinition,
  referenceValueServiceDefinition,
  AttestationServiceClient,
  ReferenceValueProviderServiceClient,
} from './protos.ts';
export type * from './messages.ts';
