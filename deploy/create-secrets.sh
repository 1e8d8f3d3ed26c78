#!/bin/sh
# Creates (or updates) the three Secrets the kustomize overlays mount, from the files
# deploy/generate-keys.sh wrote. Only public material and the token signer key enter the cluster:
# the admin private key, the admin token and the CA key stay on the operator's machine.
#
#   trustee-admin-auth     public.pub             admin token verification (every KBS)
#   trustee-token-ca       ca-cert.pem            attestation-token trust (every KBS)
#   trustee-token-signer   token.key,             EAR token signing (builtin-AS KBS or the gRPC AS)
#                          token-cert-chain.pem
#
# Usage: deploy/create-secrets.sh [--print] [DIR] [NAMESPACE]      (defaults: ./deploy/keys trustee)
#   --print   write the manifests to stdout instead of applying them (GitOps, sealed-secrets, review)
set -eu
print=false
if [ "${1:-}" = "--print" ]; then print=true; shift; fi
DIR="${1:-./deploy/keys}"
NAMESPACE="${2:-trustee}"

command -v kubectl >/dev/null 2>&1 || { echo "create-secrets.sh: kubectl is required" >&2; exit 1; }
for file in public.pub ca-cert.pem token.key token-cert-chain.pem; do
  [ -s "$DIR/$file" ] || { echo "create-secrets.sh: $DIR/$file missing; run deploy/generate-keys.sh $DIR first" >&2; exit 1; }
done

manifests() {
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml
  echo "---"
  kubectl create secret generic trustee-admin-auth -n "$NAMESPACE" --dry-run=client -o yaml \
    --from-file=public.pub="$DIR/public.pub"
  echo "---"
  kubectl create secret generic trustee-token-ca -n "$NAMESPACE" --dry-run=client -o yaml \
    --from-file=ca-cert.pem="$DIR/ca-cert.pem"
  echo "---"
  kubectl create secret generic trustee-token-signer -n "$NAMESPACE" --dry-run=client -o yaml \
    --from-file=token.key="$DIR/token.key" --from-file=token-cert-chain.pem="$DIR/token-cert-chain.pem"
}

if $print; then
  manifests
else
  manifests | kubectl apply -f -
fi
