/**
 * A KBS process that trusts the test PKI of its own evidence server (factory evidence for every
 * TEE, test-only roots), with an admin token file for the kbs-client: the set-up of the suites
 * that drive hardware-shaped RCAR flows through a real KBS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintAdminToken } from '../independent/operator.ts';
import { kbsConfigToml } from './configs.ts';
import { verifierConfigToml } from './evidenceFactory.ts';
import { startEvidenceServer, type EvidenceServer } from './evidenceServer.ts';
import { startKbs, type KbsProcess } from './kbsProcess.ts';
import { writeAdminKeys } from './keys.ts';

export interface FactoryKbs {
  readonly evidence: EvidenceServer;
  readonly kbs: KbsProcess;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  stop(): Promise<void>;
}

/** Starts the evidence server and the KBS under `dir` (anchors in `dir/anchors`, KBS state in `dir/kbs`). */
export async function startFactoryKbs(dir: string): Promise<FactoryKbs> {
  const anchors = join(dir, 'anchors');
  mkdirSync(anchors);
  const evidence = await startEvidenceServer(anchors);
  const admin = writeAdminKeys(dir);
  const base = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'insecure-header-jwk' } });
  const kbsDir = join(dir, 'kbs');
  mkdirSync(kbsDir);
  let kbs: KbsProcess;
  try {
    kbs = await startKbs(base + verifierConfigToml(evidence, { trustAnchors: true }), { dir: kbsDir });
  } catch (error) {
    await evidence.stop();
    throw error;
  }
  const adminToken = mintAdminToken(admin.privateKey);
  const adminTokenFile = join(dir, 'admin-token');
  writeFileSync(adminTokenFile, `${adminToken}\n`);
  return { evidence, kbs, adminToken, adminTokenFile, stop: async () => void (await Promise.all([kbs.stop(), evidence.stop()])) };
}
