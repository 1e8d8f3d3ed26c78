/**
 * An independent KBS operator (upstream trustee `kbs/docs/admin.md`): admin JWTs minted by hand
 * with node:crypto Ed25519 exactly as upstream's docker-compose setup.sh does, and the admin
 * endpoints called with hand-built bodies.
 */
import { sign, type KeyObject } from 'node:crypto';
import { b64stdEncode, b64urlEncode } from './base64.ts';
import { httpRequest, type HttpResponse } from './http.ts';

export interface AdminTokenOptions {
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  /** Seconds relative to now; default ten years like setup.sh. */
  readonly expiresIn?: number;
  readonly now?: number;
}

/** `{"alg":"EdDSA","typ":"JWT"}` . `{iss, sub, aud, role, iat, exp}` signed with Ed25519. */
export function mintAdminToken(privateKey: KeyObject, options: AdminTokenOptions = {}): string {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const header = options.header ?? { alg: 'EdDSA', typ: 'JWT' };
  const claims = {
    iss: 'TrusteeInDocker',
    sub: 'admin',
    aud: ['KBS'],
    role: 'admin',
    iat,
    exp: iat + (options.expiresIn ?? 10 * 365 * 24 * 3600),
    ...options.claims,
  };
  const signingInput = `${b64urlEncode(Buffer.from(JSON.stringify(header)))}.${b64urlEncode(Buffer.from(JSON.stringify(claims)))}`;
  const signature = sign(null, Buffer.from(signingInput, 'ascii'), privateKey);
  return `${signingInput}.${b64urlEncode(signature)}`;
}

export class IndependentOperator {
  constructor(
    readonly baseUrl: string,
    readonly token: string | undefined,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined ? extra : { ...extra, authorization: `Bearer ${this.token}` };
  }

  setResource(path: string, bytes: Uint8Array): Promise<HttpResponse> {
    return httpRequest(this.baseUrl, {
      method: 'POST',
      path: `/kbs/v0/resource/${path}`,
      headers: this.headers({ 'content-type': 'application/octet-stream' }),
      body: bytes,
    });
  }

  deleteResource(path: string): Promise<HttpResponse> {
    return httpRequest(this.baseUrl, { method: 'DELETE', path: `/kbs/v0/resource/${path}`, headers: this.headers() });
  }

  setResourcePolicy(rego: string): Promise<HttpResponse> {
    return this.postJson('/kbs/v0/resource-policy', { policy: b64urlEncode(Buffer.from(rego, 'utf8')) });
  }

  getResourcePolicy(): Promise<HttpResponse> {
    return httpRequest(this.baseUrl, { method: 'GET', path: '/kbs/v0/resource-policy', headers: this.headers() });
  }

  setAttestationPolicy(rego: string, policyId = 'default_cpu'): Promise<HttpResponse> {
    return this.postJson('/kbs/v0/attestation-policy', { type: 'rego', policy_id: policyId, policy: b64urlEncode(Buffer.from(rego, 'utf8')) });
  }

  /**
   * The `sample` RVPS message (upstream `rvps/src/extractors/sample/mod.rs`): provenance `{name:
   * value}` in standard base64. The sample extractor stores the value verbatim, so lists
   * (`["abcde"]`) and scalars (`4`) both work.
   */
  registerSampleReferenceValue(name: string, value: unknown): Promise<HttpResponse> {
    const provenance = b64stdEncode(Buffer.from(JSON.stringify({ [name]: value }), 'utf8'));
    return this.postJson('/kbs/v0/reference-value', { version: '0.1.0', type: 'sample', payload: provenance });
  }

  getReferenceValue(id: string): Promise<HttpResponse> {
    return httpRequest(this.baseUrl, { method: 'GET', path: `/kbs/v0/reference-value/${id}`, headers: this.headers() });
  }

  postJson(path: string, body: unknown): Promise<HttpResponse> {
    return httpRequest(this.baseUrl, {
      method: 'POST',
      path,
      headers: this.headers({ 'content-type': 'application/json' }),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }
}

/** The shipped sample resource policies (upstream `kbs/sample_policies/`), in our own words. */
export const POLICIES = {
  allowAll: 'package policy\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n  data.plugin == "resource"\n}\n',
  denyAll: 'package policy\nimport rego.v1\n\ndefault allow := false\n',
  affirming:
    'package policy\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n  count(input.submods) > 0\n  every _, submod in input.submods {\n    submod["ear.status"] == "affirming"\n  }\n}\n',
  /** Allows only one repository, to check that `data["resource-path"]` reaches the policy. */
  onlyRepo: (repo: string) =>
    `package policy\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n  data.plugin == "resource"\n  data["resource-path"][0] == ${JSON.stringify(repo)}\n}\n`,
} as const;
