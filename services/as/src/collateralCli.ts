/**
 * `pnpm as collateral export --config-file F --out DIR` / `import --config-file F --in DIR`:
 * offline collateral bundles for air-gapped sites. Export writes what the service has cached in
 * its store (the one `storage_backend` names):
 *
 *   DIR/amd/vcek/<hwid>/<tcb>_vcek.der       AMD VCEKs (upstream kds-store layout)
 *   DIR/amd/cert_chain/<vcek|vlek>/<P>.pem   AMD ASK/ASVK + ARK chains
 *   DIR/intel/<tee>-<FMSPC>-<ca>.json        Intel DCAP bundles (TCB info, QE identity, CRLs, chains)
 *   DIR/nvidia/ocsp/<keyhash>-<serial>.ocsp  NVIDIA device-certificate OCSP answers (DER)
 *
 * Import reads that layout (or an upstream kds-store with `vcek/` at the top, or Intel bundle JSON
 * files, dcap-qvl form included) into the store, where the running service finds them before
 * asking KDS/PCS. `pnpm as verify --collateral DIR` reads an exported directory directly.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '@trustee/storage';
import {
  createAmdCollateralSource,
  createIntelCollateralCache,
  createNvidiaRevocationSource,
  intelBundleKey,
  loadIntelCollateral,
  VerificationError,
  writeIntelCollateralDir,
} from '@trustee/verifiers';
import { ConfigError, loadAsConfig } from './config.ts';
import { terminalProgress } from './terminalProgress.ts';
import type { CliIo } from './verifyCli.ts';

export const COLLATERAL_USAGE = `usage: as collateral export --config-file <as-config.json> --out <dir>
       as collateral import --config-file <as-config.json> --in <dir>`;

async function exists(path: string): Promise<'dir' | 'file' | undefined> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

export async function runCollateral(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout.write(`${COLLATERAL_USAGE}\n`);
    return 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { 'config-file': { type: 'string', short: 'c' }, out: { type: 'string' }, in: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n${COLLATERAL_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${COLLATERAL_USAGE}\n`);
    return 0;
  }
  const dir = action === 'export' ? values.out : action === 'import' ? values.in : undefined;
  if ((action !== 'export' && action !== 'import') || dir === undefined || values['config-file'] === undefined) {
    io.stderr.write(`error: expected export --out DIR or import --in DIR, with --config-file\n${COLLATERAL_USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = await loadAsConfig(values['config-file']);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (config.storage.storageType === 'Memory') {
    io.stderr.write('error: storage_backend is Memory: there is no persistent collateral cache to export to or import into\n');
    return 2;
  }
  const store = openStore(config.storage);
  try {
    const amd = createAmdCollateralSource({ store });
    const nvidia = createNvidiaRevocationSource({ store });
    const intel = createIntelCollateralCache({
      store,
      upstream: () => Promise.reject(VerificationError.single('collateral_unavailable', 'collateral.intel', 'offline')),
    });
    if (action === 'export') {
      const progress = terminalProgress(io, 'exporting collateral');
      const amdCounts = await amd.exportBundle(join(dir, 'amd'), progress);
      const bundles = await intel.exportBundles();
      const names = await writeIntelCollateralDir(
        join(dir, 'intel'),
        bundles,
        (bundle) => {
          const key = intelBundleKey(bundle);
          return `${key.tee}-${key.fmspc}-${key.pckCa ?? 'any'}`;
        },
        progress,
      );
      const ocsp = await nvidia.exportBundle(join(dir, 'nvidia', 'ocsp'), progress);
      const failed = progress.finish();
      io.stdout.write(`exported ${amdCounts.vceks} AMD VCEK(s), ${amdCounts.chains} AMD chain(s), ${names.length} Intel bundle(s), ${ocsp} NVIDIA OCSP answer(s) to ${dir}\n`);
      return failed.length === 0 ? 0 : 1;
    }
    if ((await exists(dir)) === undefined) {
      io.stderr.write(`error: --in ${dir} does not exist\n`);
      return 2;
    }
    const amdDir = (await exists(join(dir, 'amd'))) === 'dir' ? join(dir, 'amd') : (await exists(join(dir, 'vcek'))) === 'dir' ? dir : undefined;
    const progress = terminalProgress(io, 'importing collateral');
    const amdCounts = amdDir === undefined ? { vceks: 0, chains: 0, skipped: [] } : await amd.importBundle(amdDir, progress);
    const intelDir = (await exists(join(dir, 'intel'))) === 'dir' ? join(dir, 'intel') : amdDir === undefined ? dir : undefined;
    const bundles = intelDir === undefined ? [] : await loadIntelCollateral(intelDir);
    const imported = await intel.importBundles(bundles, progress);
    const ocspDir = join(dir, 'nvidia', 'ocsp');
    const ocsp = (await exists(ocspDir)) === 'dir' ? (await nvidia.importBundle(ocspDir, progress)).imported : 0;
    // Skipped files are named by the progress summary ("failed: <file>: <why>"), TTY or not.
    progress.finish();
    io.stdout.write(`imported ${amdCounts.vceks} AMD VCEK(s), ${amdCounts.chains} AMD chain(s), ${imported} Intel bundle(s), ${ocsp} NVIDIA OCSP answer(s) from ${dir}\n`);
    return 0;
  } catch (error) {
    if (error instanceof VerificationError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await store.close();
  }
}
