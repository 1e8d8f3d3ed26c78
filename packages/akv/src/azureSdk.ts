/**
 * The Azure SDK, loaded on first use: a KBS without an AzureKeyVault backend never loads it
 * (@azure/identity with its MSAL dependencies is about a third of the KBS's start-up CPU; see
 * bench/startup.bench.ts). `require` because the constructors are needed synchronously; both
 * packages ship CommonJS builds.
 */
import { createRequire } from 'node:module';
import type * as Identity from '@azure/identity';
import type * as KeyVaultSecrets from '@azure/keyvault-secrets';

const require = createRequire(import.meta.url);

export function azureIdentity(): typeof Identity {
  return require('@azure/identity') as typeof Identity;
}

export function keyVaultSecrets(): typeof KeyVaultSecrets {
  return require('@azure/keyvault-secrets') as typeof KeyVaultSecrets;
}
