/**
 * Failures talking to Key Vault, as the storage package's typed error. The SDK's own errors
 * are not kept as `cause`: a RestError carries the request, whose body holds the secret value
 * on writes, so only the status, the service's error code and its message survive.
 */
import { StorageError } from '@trustee/storage';
// The SDK's own isRestError, from the lazily loaded SDK: importing it here loaded the whole SDK
// (about 150 ms of CPU) into every KBS, AzureKeyVault backend or not.
import { keyVaultSecrets } from './azureSdk.ts';

export class KeyVaultError extends StorageError {
  /** HTTP status from Key Vault; undefined for network and credential failures. */
  readonly status: number | undefined;
  /** Key Vault's error code (`Forbidden`, `Unauthorized`, `Throttled`...) or the SDK's. */
  readonly azureCode: string | undefined;

  constructor(message: string, status: number | undefined, azureCode: string | undefined) {
    super('backend_failure', message);
    this.status = status;
    this.azureCode = azureCode;
  }
}

interface ServiceErrorDetails {
  readonly code?: string;
  readonly innerCode?: string;
  readonly message?: string;
}

/** The `{error: {code, message, innererror}}` body the SDK attaches to RestError.details. */
function serviceDetails(details: unknown): ServiceErrorDetails {
  if (typeof details !== 'object' || details === null) return {};
  const error = (details as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return {};
  const { code, message, innerError } = error as { code?: unknown; message?: unknown; innerError?: unknown };
  const inner = typeof innerError === 'object' && innerError !== null ? (innerError as { code?: unknown }).code : undefined;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message: message.slice(0, 300) } : {}),
    ...(typeof inner === 'string' ? { innerCode: inner } : {}),
  };
}

export interface ClassifiedError {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly innerCode: string | undefined;
}

export function classify(error: unknown): ClassifiedError {
  if (!keyVaultSecrets().isRestError(error)) return { status: undefined, code: undefined, innerCode: undefined };
  const details = serviceDetails(error.details);
  return { status: error.statusCode, code: details.code ?? error.code, innerCode: details.innerCode };
}

/** A KeyVaultError describing `error` for operation `operation` on secret `name`. */
export function keyVaultError(operation: string, name: string, error: unknown): KeyVaultError {
  if (error instanceof KeyVaultError) return error;
  if (keyVaultSecrets().isRestError(error)) {
    const details = serviceDetails(error.details);
    const code = details.code ?? error.code;
    const status = error.statusCode;
    const hint =
      status === 401 || status === 403
        ? ' (check that the KBS identity has the "Key Vault Secrets User" role, or "Key Vault Secrets Officer" for writes, and the vault firewall)'
        : '';
    const where = status === undefined ? `network error${code === undefined ? '' : ` ${code}`}` : `HTTP ${status}${code === undefined ? '' : ` ${code}`}`;
    const said = details.message ?? (status === undefined ? error.message : undefined);
    return new KeyVaultError(`Key Vault ${operation} of secret ${name} failed: ${where}${said === undefined ? '' : `: ${said}`}${hint}`, status, code);
  }
  const name_ = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
  // Credential failures (CredentialUnavailableError, AuthenticationError) land here.
  return new KeyVaultError(`Key Vault ${operation} of secret ${name} failed: ${name_}: ${message}`, undefined, name_);
}
