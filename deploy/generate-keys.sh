#!/bin/sh
# Generates the key material a trustee-ts deployment needs, into one directory:
#
#   private.key            Ed25519 admin private key (PKCS#8 PEM, 0600). Keep it OUT of the cluster.
#   public.pub             its public key; the KBS verifies admin tokens with it
#   admin-token            EdDSA admin JWT {iss, sub, aud ["KBS"], role "admin", iat, exp} (0600)
#   ca.key, ca-cert.pem    root CA (EC P-384) that certifies the attestation-token signer;
#                          KBSs trust it through [attestation_token] trusted_certs_paths
#   token.key              EC P-256 key the attestation service signs EAR tokens with (0600)
#   token-cert.pem         its certificate, issued by the CA
#   token-cert-chain.pem   token-cert.pem + ca-cert.pem (the token header's x5c)
#
# Existing keys are kept; the admin token is minted again on every run (the key stays the same,
# so earlier tokens stay valid until they expire). POSIX sh + OpenSSL 3 only, so it runs in the
# compose `setup` container (alpine/openssl) as well as on a workstation.
#
# Usage: deploy/generate-keys.sh [DIR]          (default: ./deploy/keys)
# Environment:
#   ADMIN_ISSUER        iss of the admin token; must match the KBS identity provider (default trustee-admin)
#   ADMIN_TOKEN_DAYS    admin token lifetime in days (default 30)
#   CA_CERT_DAYS        CA validity in days (default 3650)
#   TOKEN_CERT_DAYS     token-signer certificate validity in days (default 365)
#   KEYS_OWNER          chown DIR and the files to this uid:gid (the compose setup passes the host user)
#
# The token is never printed: it is a bearer credential for every admin endpoint.
set -eu

DIR="${1:-./deploy/keys}"
ADMIN_ISSUER="${ADMIN_ISSUER:-trustee-admin}"
ADMIN_TOKEN_DAYS="${ADMIN_TOKEN_DAYS:-30}"
CA_CERT_DAYS="${CA_CERT_DAYS:-3650}"
TOKEN_CERT_DAYS="${TOKEN_CERT_DAYS:-365}"

command -v openssl >/dev/null 2>&1 || { echo "generate-keys.sh: openssl is required" >&2; exit 1; }
case "$ADMIN_TOKEN_DAYS$CA_CERT_DAYS$TOKEN_CERT_DAYS" in
  *[!0-9]*) echo "generate-keys.sh: *_DAYS must be whole numbers" >&2; exit 1 ;;
esac
case "$ADMIN_ISSUER" in
  *[!A-Za-z0-9._:/-]*|'') echo "generate-keys.sh: ADMIN_ISSUER may only hold [A-Za-z0-9._:/-]" >&2; exit 1 ;;
esac

umask 077
mkdir -p "$DIR"
chmod 0700 "$DIR"
cd "$DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

b64url() {
  openssl base64 -A | tr '+/' '-_' | tr -d '='
}

if [ ! -s private.key ]; then
  openssl genpkey -algorithm ed25519 -out private.key
  rm -f public.pub
  echo "generated admin key pair: $DIR/private.key, $DIR/public.pub"
fi
[ -s public.pub ] || openssl pkey -in private.key -pubout -out public.pub

header='{"alg":"EdDSA","typ":"JWT"}'
iat="$(date +%s)"
exp=$((iat + ADMIN_TOKEN_DAYS * 86400))
payload="{\"iss\":\"${ADMIN_ISSUER}\",\"sub\":\"admin\",\"aud\":[\"KBS\"],\"role\":\"admin\",\"iat\":${iat},\"exp\":${exp}}"
printf '%s.%s' "$(printf '%s' "$header" | b64url)" "$(printf '%s' "$payload" | b64url)" > "$work/signing-input"
signature="$(openssl pkeyutl -sign -inkey private.key -rawin -in "$work/signing-input" | b64url)"
printf '%s.%s\n' "$(cat "$work/signing-input")" "$signature" > "$work/admin-token"
mv "$work/admin-token" admin-token
echo "minted admin token ($ADMIN_TOKEN_DAYS days, iss $ADMIN_ISSUER): $DIR/admin-token"

if [ ! -s ca.key ] || [ ! -s ca-cert.pem ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ca.key
  openssl req -new -x509 -key ca.key -sha384 -days "$CA_CERT_DAYS" -subj "/O=trustee-ts/CN=trustee-ts token CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca-cert.pem
  rm -f token.key token-cert.pem token-cert-chain.pem
  echo "generated token CA: $DIR/ca-cert.pem"
fi

if [ ! -s token.key ] || [ ! -s token-cert.pem ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out token.key
  openssl req -new -key token.key -subj "/O=trustee-ts/CN=trustee-ts attestation token signer" -out "$work/token.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > "$work/token.ext"
  openssl x509 -req -in "$work/token.csr" -CA ca-cert.pem -CAkey ca.key -CAcreateserial -CAserial "$work/ca.srl" \
    -sha384 -days "$TOKEN_CERT_DAYS" -extfile "$work/token.ext" -out token-cert.pem
  echo "generated token signer: $DIR/token.key, $DIR/token-cert.pem"
fi
cat token-cert.pem ca-cert.pem > token-cert-chain.pem
openssl verify -CAfile ca-cert.pem token-cert.pem >/dev/null

# Public material is world-readable; keys and the token stay 0600.
chmod 0644 public.pub ca-cert.pem token-cert.pem token-cert-chain.pem
chmod 0600 private.key admin-token ca.key token.key
if [ -n "${KEYS_OWNER:-}" ]; then
  chown "$KEYS_OWNER" . private.key public.pub admin-token ca.key ca-cert.pem token.key token-cert.pem token-cert-chain.pem
fi
