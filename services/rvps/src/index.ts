/**
 * @trustee/rvps — the standalone Reference Value Provider Service (upstream trustee `rvps/`): gRPC
 * `reference.ReferenceValueProviderService` + health, an optional REST API, SQLite storage by
 * default. Run it with `pnpm rvps`; embed it with `composeRvps` + `bindGrpcServer`.
 */
export { composeRvps, type ComposeOptions, type ComposedRvps } from './compose.ts';
export { loadRvpsConfig, parseRvpsConfig, ConfigError, DEFAULT_CONFIG_PATH, DEFAULT_SQLITE_PATH, type RvpsConfig, type AdminConfig, type LoadedRvpsConfig } from './config.ts';
export { bindGrpcServer, createGrpcServer, REFERENCE_VALUE_SERVICE_NAME, MAX_GRPC_MESSAGE_BYTES, type TlsFiles } from './grpcServer.ts';
export { buildRestServer, type RestServerDeps } from './restServer.ts';
export { RvpsError, RVPS_ERROR_STATUS, type RvpsErrorCode } from './errors.ts';
export { parseSocketAddress, formatSocketAddress, type SocketAddress } from './address.ts';
