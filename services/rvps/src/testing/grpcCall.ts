import * as grpc from '@grpc/grpc-js';
import { HealthClient, ReferenceValueProviderServiceClient } from '@trustee/grpc';

type Unary = (request: unknown, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, value: unknown) => void) => void;

export interface GrpcCaller {
  call<T>(method: string, request: unknown, token?: string): Promise<T>;
  /** Resolves to the ServiceError of a failing call (fails the test if the call succeeds). */
  fail(method: string, request: unknown, token?: string): Promise<grpc.ServiceError>;
  health(service: string): Promise<unknown>;
  close(): void;
}

/** Promise wrapper over the generic grpc-js clients of @trustee/grpc. */
export function grpcCaller(address: string, credentials = grpc.credentials.createInsecure()): GrpcCaller {
  const client = new ReferenceValueProviderServiceClient(address, credentials);
  const health = new HealthClient(address, credentials);
  const invoke = <T>(target: grpc.Client, method: string, request: unknown, token?: string): Promise<T> => {
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    const fn = (target as unknown as Record<string, Unary>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    return new Promise<T>((resolve, reject) => fn.call(target, request, metadata, (error, value) => (error === null ? resolve(value as T) : reject(error))));
  };
  return {
    call: (method, request, token) => invoke(client, method, request, token),
    async fail(method, request, token) {
      try {
        await invoke(client, method, request, token);
      } catch (error) {
        return error as grpc.ServiceError;
      }
      throw new Error(`${method} unexpectedly succeeded`);
    },
    health: (service) => invoke(health, 'Check', { service }),
    close() {
      client.close();
      health.close();
    },
  };
}
