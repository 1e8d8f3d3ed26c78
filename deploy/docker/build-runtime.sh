#!/bin/sh
# Usage (build stage of the Dockerfile, in a workspace where `pnpm build` has run):
#   deploy/docker/build-runtime.sh SERVICE OUT        e.g. deploy/docker/build-runtime.sh kbs /app
#
# Produces OUT, everything the runtime image holds besides node itself:
#   - the workspace manifests and, for @trustee/SERVICE and each workspace package it depends
#     on, its package.json and compiled dist/ (plus packages/grpc's .proto files), no sources;
#   - node_modules with the production dependencies of that closure only (frozen lockfile,
#     offline from the store `pnpm fetch` filled), without type declarations, source maps,
#     docs and the native SQLite addon's build leftovers;
#   - OUT/service, a link to services/SERVICE: the image's one entry point is
#     `node --conditions=trustee-compiled /app/service/dist/main.js`.
# Then it starts that entry point once with --help, so a broken module graph fails the image
# build instead of the first deployment.
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 kbs|as|rvps OUT" >&2; exit 2; }
service="$1"
out="$2"
case "$service" in
  kbs|as|rvps) ;;
  *) echo "build-runtime.sh: SERVICE must be kbs, as or rvps (got '$service')" >&2; exit 2 ;;
esac
[ -f "services/$service/dist/main.js" ] || { echo "build-runtime.sh: services/$service/dist/main.js missing (run pnpm build first)" >&2; exit 1; }

# The workspace packages @trustee/SERVICE needs at run time (itself included), as directories.
closure="$(pnpm --filter "@trustee/$service..." --prod list --depth -1 --parseable </dev/null | sed "s#^$(pwd -P)/##" | sort -u)"
[ -n "$closure" ] || { echo "build-runtime.sh: no workspace closure for @trustee/$service" >&2; exit 1; }

mkdir -p "$out"
cp package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc "$out/"
# Every workspace manifest, so the frozen install sees the lockfile's importers; code only for the closure.
for manifest in packages/*/package.json services/*/package.json tests/*/package.json; do
  [ -f "$manifest" ] || continue
  mkdir -p "$out/$(dirname "$manifest")"
  cp "$manifest" "$out/$manifest"
done
for dir in $closure; do
  [ -d "$dir/dist" ] || { echo "build-runtime.sh: $dir/dist missing (run pnpm build first)" >&2; exit 1; }
  cp -R "$dir/dist" "$out/$dir/dist"
  [ -d "$dir/proto" ] && cp -R "$dir/proto" "$out/$dir/proto"
  # The KBS operator console's built assets (vite build, part of pnpm build).
  if [ -d "$dir/console/dist" ]; then mkdir -p "$out/$dir/console" && cp -R "$dir/console/dist" "$out/$dir/console/dist"; fi
done
(cd "$out" && pnpm install --offline --frozen-lockfile --reporter=append-only --prod --filter "@trustee/$service..." </dev/null)

# What node never loads at run time.
find "$out/node_modules/.pnpm" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete
# better-sqlite3 is compiled in place (or fetched prebuilt): only the addon itself is loaded at run time.
for addon_dir in "$out"/node_modules/.pnpm/better-sqlite3@*/node_modules/better-sqlite3; do
  [ -f "$addon_dir/build/Release/better_sqlite3.node" ] || continue
  mv "$addon_dir/build/Release/better_sqlite3.node" "$out/.better_sqlite3.node"
  rm -rf "$addon_dir/build" "$addon_dir/deps" "$addon_dir/src"
  mkdir -p "$addon_dir/build/Release"
  mv "$out/.better_sqlite3.node" "$addon_dir/build/Release/better_sqlite3.node"
done
rm -f "$out/pnpm-lock.yaml" "$out/.npmrc" "$out/node_modules/.modules.yaml" "$out/node_modules/.pnpm-workspace-state-v1.json"
ln -s "services/$service" "$out/service"

cd "$out"
node --conditions=trustee-compiled service/dist/main.js --help >/dev/null
echo "build-runtime.sh: @trustee/$service ready in $out ($(du -sh node_modules | cut -f1) of node_modules; workspace: $(echo $closure | tr '\n' ' '))"
