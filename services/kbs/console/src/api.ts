/**
 * Calls to the KBS: the console API (/console/api/...) and the admin API (/kbs/v0/...), both
 * with the admin token as a Bearer header. The token stays in this tab's sessionStorage (gone
 * when the tab closes); no cookie is ever set or sent (`credentials: 'omit'`).
 */
const TOKEN_KEY = 'trustee-console-token';

export function token(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function setToken(value: string | undefined): void {
  if (value === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

export interface ApiError extends Error {
  readonly status: number;
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof Error && typeof (error as Partial<ApiError>).status === 'number';
}

/** Turns a KBS or console error body into one readable sentence. */
function errorText(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; detail?: unknown; type?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.detail === 'string') return `${typeof parsed.type === 'string' ? `${parsed.type.split('/').pop() ?? ''}: ` : ''}${parsed.detail}`;
  } catch {
    // not JSON
  }
  return `HTTP ${status}`;
}

export async function request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const current = token();
  if (current !== undefined) headers['authorization'] = `Bearer ${current}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  if (!response.ok) throw Object.assign(new Error(errorText(response.status, text)), { status: response.status });
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
