/** Locations the e2e suite needs, resolved from this file so the suite runs from any cwd. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const TSX_BIN = join(REPO_ROOT, 'node_modules/.bin/tsx');
export const KBS_MAIN = join(REPO_ROOT, 'services/kbs/src/main.ts');
export const CLI_MAIN = join(REPO_ROOT, 'packages/kbs-client/src/cli.ts');
export const RVPS_MAIN = join(REPO_ROOT, 'services/rvps/src/main.ts');
export const AS_MAIN = join(REPO_ROOT, 'services/as/src/main.ts');

function fileContains(path: string, needle: RegExp): boolean {
  return existsSync(path) && needle.test(readFileSync(path, 'utf8'));
}

/**
 * Capability probes, evaluated once when a test file is collected. They look at what has
 * landed in the tree, so a suite is skipped only while its piece is genuinely absent; once a
 * piece exists its tests run (and fail if it is broken).
 */
export const capabilities = {
  kbs: existsSync(KBS_MAIN),
  cli: existsSync(CLI_MAIN),
  sqliteStorage: fileContains(join(REPO_ROOT, 'packages/storage/src/storageConfig.ts'), /['"]Sqlite['"]/),
  cliAdminToken: fileContains(CLI_MAIN, /admin-token/),
  rvps: existsSync(RVPS_MAIN),
  as: existsSync(AS_MAIN),
  /** The KBS accepts `[attestation_service] type = "coco_as_grpc"` and composes a gRPC AS client. */
  kbsGrpcAs:
    fileContains(join(REPO_ROOT, 'services/kbs/src/config.ts'), /coco_as_grpc/) &&
    fileContains(join(REPO_ROOT, 'services/kbs/src/compose.ts'), /coco_as_grpc|GrpcAttestationService|grpcAttestationService/),
  /** The KBS accepts `storage_backend_type = "AzureKeyVault"` and @trustee/akv ships its fake vault. */
  kbsAkv:
    fileContains(join(REPO_ROOT, 'services/kbs/src/config.ts'), /AzureKeyVault|AKV_BACKEND_NAMES/) &&
    fileContains(join(REPO_ROOT, 'packages/akv/src/testing/fakeKeyVault.ts'), /processEnvironment/),
  /** The KBS wires a gRPC RVPS client for `rvps_config.type = "GrpcRemote"` (upstream `kbs/docs/config.md`). */
  kbsRemoteRvps: fileContains(join(REPO_ROOT, 'services/kbs/src/compose.ts'), /GrpcRemote|createGrpcRvpsClient/),
} as const;
