#!/usr/bin/env bash
# Validates the deployment files offline (no cluster, no Docker engine), `pnpm test:deploy`:
#   1. renders every kustomize overlay under deploy/overlays with `kubectl kustomize`;
#   2. validates docker-compose.yml with `docker-compose config -q` (Debian's compose 1.29 needs
#      no engine; installed with apt-get when missing and running as root, e.g. in CI);
#   3. runs deploy/checks/checkManifests.ts over the renders and the compose file: hardening
#      (non-root, read-only root fs, limits, probes), service configs parsed by the services' own
#      parsers, config paths vs volumes and Secret keys, Service selectors, no rendered keys;
#   4. runs deploy/generate-keys.sh into a scratch directory and checks what it produced.
# Nothing is written to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

step() { printf '\n== %s\n' "$*"; }
die() { printf 'validate-deploy: %s\n' "$*" >&2; exit 1; }

step "kubectl kustomize (offline render of every overlay)"
if ! command -v kubectl >/dev/null 2>&1; then
  die "kubectl not found. It renders the kustomize overlays offline (kubectl kustomize, no cluster needed).
  Install it: Debian/Ubuntu 'apt-get install -y kubernetes-client' (or the kubectl package from pkgs.k8s.io),
  macOS 'brew install kubectl'; any kubectl >= 1.27 (Kustomize v5) works."
fi
overlay_args=()
overlays=0
for dir in deploy/overlays/*/; do
  name="$(basename "$dir")"
  [ -f "$dir/kustomization.yaml" ] || continue
  if ! kubectl kustomize "$dir" >"$scratch/$name.yaml" 2>"$scratch/$name.err"; then
    cat "$scratch/$name.err" >&2
    die "overlay $name does not render"
  fi
  printf '  %-18s %3d objects\n' "$name" "$(grep -c '^kind:' "$scratch/$name.yaml")"
  overlay_args+=("$name=$scratch/$name.yaml")
  overlays=$((overlays + 1))
done
[ "$overlays" -gt 0 ] || die "no overlay under deploy/overlays"

step "docker-compose config -q"
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "  docker-compose missing: installing Debian's docker-compose (1.29, validates without an engine)"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh image may have no package lists; update only when the install cannot resolve.
    if ! apt-get -o DPkg::Lock::Timeout=120 install -y --no-install-recommends docker-compose >"$scratch/apt.log" 2>&1; then
      apt-get -o DPkg::Lock::Timeout=120 update >>"$scratch/apt.log" 2>&1 || { tail -20 "$scratch/apt.log" >&2; die "apt-get update failed"; }
      apt-get -o DPkg::Lock::Timeout=120 install -y --no-install-recommends docker-compose >>"$scratch/apt.log" 2>&1 || { tail -20 "$scratch/apt.log" >&2; die "apt-get install docker-compose failed"; }
    fi
  else
    die "docker-compose not found. Install Debian's: 'sudo apt-get install -y docker-compose' (1.29 validates
  without a Docker engine), or run this script as root on Debian/Ubuntu and it installs it itself."
  fi
fi
# COMPOSE_* variables from the caller's environment must not change what is validated.
if ! env -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME docker-compose -f docker-compose.yml config -q 2>"$scratch/compose.err"; then
  cat "$scratch/compose.err" >&2
  die "docker-compose.yml is invalid"
fi
echo "  docker-compose.yml valid ($(docker-compose version --short 2>/dev/null || echo unknown version))"

step "manifest and config checks (deploy/checks/checkManifests.ts)"
[ -x node_modules/.bin/tsx ] || die "node_modules/.bin/tsx missing: install the workspace first (scripts/trustee install)"
# Keep going on failure so one run reports the key-generation step too.
checks_ok=true
node_modules/.bin/tsx deploy/checks/checkManifests.ts --compose docker-compose.yml "${overlay_args[@]}" || checks_ok=false

step "deploy/generate-keys.sh"
command -v openssl >/dev/null 2>&1 || die "openssl not found (deploy/generate-keys.sh needs it): apt-get install -y openssl"
sh deploy/generate-keys.sh "$scratch/keys" >"$scratch/keys.log" 2>&1 || { cat "$scratch/keys.log" >&2; die "generate-keys.sh failed"; }
for file in private.key public.pub admin-token ca.key ca-cert.pem token.key token-cert.pem token-cert-chain.pem; do
  [ -s "$scratch/keys/$file" ] || die "generate-keys.sh did not write $file"
done
for file in private.key admin-token ca.key token.key; do
  [ "$(stat -c %a "$scratch/keys/$file")" = "600" ] || die "generate-keys.sh left $file readable by others"
done
openssl verify -CAfile "$scratch/keys/ca-cert.pem" "$scratch/keys/token-cert.pem" >/dev/null || die "token certificate does not chain to the CA"
# The admin token verifies with the public key (EdDSA over header.payload).
token="$(cat "$scratch/keys/admin-token")"
printf '%s' "${token%.*}" >"$scratch/signed"
signature="${token##*.}"
padding=$(( (4 - ${#signature} % 4) % 4 ))
printf '%s%s' "$signature" "$(printf '%*s' "$padding" '' | tr ' ' '=')" | tr '_-' '/+' | base64 -d >"$scratch/signature"
openssl pkeyutl -verify -pubin -inkey "$scratch/keys/public.pub" -rawin -in "$scratch/signed" -sigfile "$scratch/signature" >/dev/null \
  || die "admin token signature does not verify with public.pub"
# Re-running keeps the keys and mints a new token.
before="$(cat "$scratch/keys/token.key" "$scratch/keys/private.key" | sha256sum)"
sh deploy/generate-keys.sh "$scratch/keys" >"$scratch/keys.log" 2>&1 || { cat "$scratch/keys.log" >&2; die "generate-keys.sh failed on a second run"; }
[ "$before" = "$(cat "$scratch/keys/token.key" "$scratch/keys/private.key" | sha256sum)" ] || die "generate-keys.sh replaced existing keys"
echo "  keys, CA chain and admin token OK"

$checks_ok || die "manifest/config checks failed (listed above)"
printf '\nvalidate-deploy: OK (%d overlays + compose) in %ss\n' "$overlays" "$(( $(date +%s) - started ))"
