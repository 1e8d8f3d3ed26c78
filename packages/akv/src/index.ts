export { AzureKeyVaultStore, PATH_TAG, type AzureKeyVaultStoreOptions } from './azureKeyVaultStore.ts';
export {
  AKV_BACKEND_NAMES,
  akvBackendFromTable,
  akvBackendShape,
  createAkvCredential,
  openAkvStore,
  parseAkvBackendConfig,
  type AkvBackendConfig,
  type AkvCredentialKind,
  type AkvOverrides,
  type OpenAkvStoreDeps,
} from './akvConfig.ts';
export { KeyVaultError } from './keyVaultError.ts';
export { keyForSecretName, secretNameForKey, MAX_SECRET_NAME_LENGTH } from './secretName.ts';
export { BASE64_CONTENT_TYPE, decodeSecretValue, encodeSecretValue } from './secretValue.ts';
export { ReadThroughCache, type CachePolicy, type Fetched } from './readThroughCache.ts';
