/**
 * The one cookie the KBS protocol uses: `kbs-session-id`, set by `/auth` and `/attest` with an
 * `Expires` attribute and no Path. One jar per client and KBS origin.
 */
export const SESSION_COOKIE = 'kbs-session-id';

export class SessionCookieJar {
  #value: string | undefined;
  #expiresAtMs: number | undefined;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Reads every Set-Cookie header of a response; other cookies are ignored. */
  store(setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      if (separator < 0 || pair.slice(0, separator).trim() !== SESSION_COOKIE) continue;
      const value = pair.slice(separator + 1).trim();
      let expiresAtMs: number | undefined;
      for (const attribute of attributes) {
        const [name = '', ...rest] = attribute.split('=');
        const lower = name.trim().toLowerCase();
        if (lower === 'max-age') {
          const seconds = Number(rest.join('=').trim());
          if (Number.isInteger(seconds)) expiresAtMs = this.#now() + seconds * 1000;
        } else if (lower === 'expires' && expiresAtMs === undefined) {
          const parsed = Date.parse(rest.join('=').trim());
          if (!Number.isNaN(parsed)) expiresAtMs = parsed;
        }
      }
      if (value === '' || (expiresAtMs !== undefined && expiresAtMs <= this.#now())) {
        this.clear();
      } else {
        this.#value = value;
        this.#expiresAtMs = expiresAtMs;
      }
    }
  }

  /** The `Cookie` header value, or undefined when there is no live session cookie. */
  header(): string | undefined {
    if (this.#value === undefined) return undefined;
    if (this.#expiresAtMs !== undefined && this.#expiresAtMs <= this.#now()) {
      this.clear();
      return undefined;
    }
    return `${SESSION_COOKIE}=${this.#value}`;
  }

  clear(): void {
    this.#value = undefined;
    this.#expiresAtMs = undefined;
  }
}
