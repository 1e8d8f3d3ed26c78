/**
 * Upstream's docker-compose topology as three processes: an RVPS (gRPC, SQLite), an AS (gRPC,
 * `rvps_config.type = "GrpcRemote"`, SQLite, signing with a CA-certified key) and a KBS on
 * `coco_as_grpc` that trusts that CA. The operator talks only to the KBS.
 */
import { join } from 'node:path';
import { mintAdminToken } from '../independent/operator.ts';
import { certChainTrust, kbsConfigToml, sqliteStorage } from './configs.ts';
import { startAs, startKbs, startRvps, type AsProcess, type KbsProcess, type RvpsProcess } from './kbsProcess.ts';
import { writeAdminKeys, writeSignerChain, type SignerChain } from './keys.ts';

export interface ComposeStack {
  readonly rvps: RvpsProcess;
  readonly as: AsProcess;
  readonly kbs: KbsProcess;
  /** The AS's token signer (leaf + CA); the KBS trusts its CA. */
  readonly signer: SignerChain;
  /** An admin JWT (role `admin`) the KBS accepts. */
  readonly adminToken: string;
  /** Stops the three processes (those that started). */
  stop(): Promise<void>;
}

/** Starts RVPS, AS and KBS in that order, their state and configs under `dir`. */
export async function startComposeStack(dir: string): Promise<ComposeStack> {
  const admin = writeAdminKeys(dir);
  const signer = await writeSignerChain(dir, 'as-token');
  const started: Array<{ stop(): Promise<unknown> }> = [];
  const stop = async (): Promise<void> => {
    for (const child of started.reverse()) await child.stop();
  };
  try {
    const rvps = await startRvps({ storage: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'rvps.sqlite') } } } }, { dir });
    started.push(rvps);
    const as = await startAs(
      {
        storage_backend: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'as.sqlite') } } },
        rvps_config: { type: 'GrpcRemote', address: rvps.grpcAddress },
        attestation_token_broker: { duration_min: 5, signer: { key_path: signer.keyPath, cert_path: signer.certChainPath } },
      },
      { dir },
    );
    started.push(as);
    const toml = kbsConfigToml({
      adminPublicKeyPath: admin.publicKeyPath,
      storage: sqliteStorage(dir),
      tokenTrust: certChainTrust(signer),
      grpcAttestationService: { asAddr: `http://${as.grpcAddress}` },
    });
    const kbs = await startKbs(toml, { dir });
    started.push(kbs);
    return { rvps, as, kbs, signer, adminToken: mintAdminToken(admin.privateKey), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
