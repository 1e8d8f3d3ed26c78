/** @trustee/as — the attestation service: composition root and transports, for tests, the e2e harness and benchmarks. */
export { composeAs, type ComposeAsOptions, type ComposedAs, type RvpsBackend } from './compose.ts';
export { loadAsConfig, parseAsConfig, ConfigError, type AsConfig } from './config.ts';
export { AS_ERRORS, AS_ERROR_CODES, AsError, toAsError, type AsErrorCode } from './errors.ts';
export { createAsGrpcServer, addAsServices, bindGrpc, GRPC_MAX_MESSAGE_BYTES } from './grpcServer.ts';
export { buildAsRestServer, REST_BODY_LIMIT_BYTES } from './restServer.ts';
export { startListeners, parseServeArgs, splitSocket, type ServeArgs, type RunningAs } from './serve.ts';
export { AsMetrics } from './metrics.ts';
