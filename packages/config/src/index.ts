export { ConfigError } from './configError.ts';
export { nearestName, unknownNameHint } from './nearestName.ts';
export { configFormatOf, decodeConfigText, readConfigFile, MAX_CONFIG_FILE_BYTES, type ConfigFormat, type ReadConfigOptions } from './readConfigFile.ts';
export { formatPath, validateConfig, type Validated, type ValidateOptions } from './validateConfig.ts';
export { fail, ALLOW_UNKNOWN_CONFIG_FLAG } from './schemaHelpers.ts';
export { parsePemCertificates } from './pemCertificates.ts';
