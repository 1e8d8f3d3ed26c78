#!/usr/bin/env bash
# Runs the docker-compose topology without Docker, as local processes, and drives it with
# kbs-client: the same config files (deploy/compose/*), the same command lines (read from
# docker-compose.yml), keys from deploy/generate-keys.sh. Container paths and host names are
# rewritten to a scratch directory and loopback ports. Start order and health gates follow the
# compose depends_on conditions (RVPS healthy -> AS healthy -> KBS healthy).
#
#   bash deploy/checks/compose-smoke.sh          (from the repository root; about 20-40 s)
#
# It starts three processes and stops them (SIGTERM) on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."

scratch="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT
die() { printf 'compose-smoke: %s\n' "$*" >&2; for log in "$scratch"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -5 "$log" >&2; }; done; exit 1; }

base=$((20000 + RANDOM % 20000))
rvps_port=$base as_port=$((base + 1)) kbs_port=$((base + 2))

sh deploy/generate-keys.sh "$scratch/keys" >"$scratch/keys.log" 2>&1 || die "generate-keys.sh failed"
mkdir -p "$scratch/config" "$scratch/kbs" "$scratch/as" "$scratch/rvps"
rewrite() { # FILE SERVICE
  sed -e "s#/etc/trustee/keys/#$scratch/keys/#g" -e "s#/var/lib/trustee/#$scratch/$2/#g" \
      -e "s#rvps:50003#127.0.0.1:$rvps_port#g" -e "s#as:50004#127.0.0.1:$as_port#g" -e "s#0.0.0.0:8080#127.0.0.1:$kbs_port#g" "$1"
}
rewrite deploy/compose/rvps.json rvps >"$scratch/config/rvps.json"
rewrite deploy/compose/as-config.json as >"$scratch/config/as-config.json"
rewrite deploy/compose/kbs-config.toml kbs >"$scratch/config/kbs-config.toml"

# The compose command line of a service, with its container paths and addresses rewritten.
command_of() {
  node_modules/.bin/tsx -e "
    const { parse } = require('yaml');
    const compose = parse(require('node:fs').readFileSync('docker-compose.yml', 'utf8'), { merge: true });
    console.log(compose.services['$1'].command.join('\n'));" |
    sed -e "s#^/etc/trustee/#$scratch/config/#" -e "s#^0.0.0.0:50003#127.0.0.1:$rvps_port#" -e "s#^0.0.0.0:50004#127.0.0.1:$as_port#"
}

start() { # SERVICE HEALTH_URL
  local service="$1" url="$2" args
  mapfile -t args < <(command_of "$service")
  node --import tsx "services/$service/src/main.ts" "${args[@]}" >"$scratch/$service.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do
    if node deploy/docker/healthcheck.mjs "$url" 2>/dev/null; then echo "  $service healthy ($url)"; return; fi
    kill -0 "${pids[-1]}" 2>/dev/null || die "$service exited"
    sleep 1
  done
  die "$service not healthy after 60 s"
}

echo "== starting the compose topology as processes"
start rvps "grpc://127.0.0.1:$rvps_port"
start as "grpc://127.0.0.1:$as_port"
start kbs "http://127.0.0.1:$kbs_port/healthz"

echo "== kbs-client flow"
client() { node --import tsx packages/kbs-client/src/cli.ts --url "http://127.0.0.1:$kbs_port" "$@"; }
token="$scratch/keys/admin-token"
printf 'compose smoke secret' >"$scratch/secret"
client config --admin-token-file "$token" set-resource --path default/key/smoke --resource-file "$scratch/secret" >/dev/null || die "set-resource failed"
client config --admin-token-file "$token" set-resource-policy --allow-all >/dev/null || die "set-resource-policy failed"
client config --admin-token-file "$token" set-sample-reference-value smoke 1 >/dev/null || die "reference value (KBS -> AS -> RVPS) failed"
client config --admin-token-file "$token" get-reference-value --id smoke >/dev/null || die "get-reference-value failed"
got="$(client get-resource --path default/key/smoke | base64 -d)" || die "get-resource failed"
[ "$got" = "compose smoke secret" ] || die "get-resource returned something else"
if client config --admin-token-file "$scratch/secret" set-resource --path default/key/x --resource-file "$scratch/secret" >/dev/null 2>&1; then
  die "an invalid admin token was accepted"
fi
echo "compose-smoke: OK (attested get-resource through KBS -> gRPC AS -> gRPC RVPS)"
