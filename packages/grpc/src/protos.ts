import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const protoDir = fileURLToPath(new URL('../proto/', import.meta.url));

// keepCase: field names stay snake_case exactly as on upstream's wire/JSON mapping.
// oneofs: the chosen member of a oneof is reported, so absent and empty can be told apart.
const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

function loadService(file: string, serviceName: string): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(file, loaderOptions);
  const loaded = grpc.loadPackageDefinition(definition);
  const parts = serviceName.split('.');
  let namespace: grpc.GrpcObject | undefined = loaded;
  for (const part of parts.slice(0, -1)) namespace = namespace?.[part] as grpc.GrpcObject | undefined;
  const ctor = namespace?.[parts[parts.length - 1] as string] as grpc.ServiceClientConstructor | undefined;
  if (ctor === undefined) throw new Error(`service ${serviceName} missing from ${file}`);
  return ctor.service;
}

/** `attestation.AttestationService`, served by the AS. */
export const attestationServiceDefinition = loadService('attestation.proto', 'attestation.AttestationService');
/** `reference.ReferenceValueProviderService`, served by the RVPS (and proxied by the AS). */
export const referenceValueServiceDefinition = loadService('reference.proto', 'reference.ReferenceValueProviderService');

/** `grpc.health.v1.Health` (Check only), registered next to the services as upstream does. */
export const healthServiceDefinition = loadService('health.proto', 'grpc.health.v1.Health');

/** Client constructors for the services. */
export const AttestationServiceClient = grpc.makeGenericClientConstructor(attestationServiceDefinition, 'AttestationService');
export const ReferenceValueProviderServiceClient = grpc.makeGenericClientConstructor(
  referenceValueServiceDefinition,
  'ReferenceValueProviderService',
);
export const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition, 'Health');
