/**
 * The set-up most KBS-process suites share: an admin key pair and a CA-certified token signer
 * written under `dir`, and an upstream-format config on the storage the suite names whose builtin
 * AS signs with that signer and whose `[attestation_token]` trusts its CA.
 */
import { mintAdminToken } from '../independent/operator.ts';
import { certChainTrust, kbsConfigToml, type KbsConfigOptions, type Storage } from './configs.ts';
import { writeAdminKeys, writeSignerChain, type AdminKeys, type SignerChain } from './keys.ts';

export interface CertChainKbsConfig {
  readonly toml: string;
  readonly admin: AdminKeys;
  readonly chain: SignerChain;
  /** An admin JWT (role `admin`) signed with `admin`'s key. */
  readonly adminToken: string;
}

/** The rest of `kbsConfigToml`'s options (workers, Redis sessions, ...). */
export type CertChainKbsOptions = Omit<KbsConfigOptions, 'adminPublicKeyPath' | 'storage' | 'tokenTrust'>;

export async function certChainKbsConfig(dir: string, storage: Storage, options: CertChainKbsOptions = {}): Promise<CertChainKbsConfig> {
  const admin = writeAdminKeys(dir);
  const chain = await writeSignerChain(dir);
  const toml = kbsConfigToml({ ...options, adminPublicKeyPath: admin.publicKeyPath, storage, tokenTrust: certChainTrust(chain) });
  return { toml, admin, chain, adminToken: mintAdminToken(admin.privateKey) };
}
