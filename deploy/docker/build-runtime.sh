#!/bin/sh
# Usage (build stage of services/<svc>/Dockerfile, from the workspace copy in the current directory):
#   deploy/docker/build-runtime.sh PACKAGE SERVICE_DIR OUT
#   e.g. deploy/docker/build-runtime.sh @trustee/kbs services/kbs /app
#
# Produces OUT: the workspace manifests, the sources of packages/* and SERVICE_DIR, and a
# node_modules holding only PACKAGE's production dependencies (frozen lockfile, offline from the
# store `pnpm fetch` filled) plus tsx, which runs the TypeScript sources. Then it trims build
# leftovers of the native SQLite addon and starts the service once with --help, so a broken
# module graph fails the image build instead of the first deployment.
set -eu
[ "$#" -eq 3 ] || { echo "usage: $0 PACKAGE SERVICE_DIR OUT" >&2; exit 2; }
package="$1"
service_dir="$2"
out="$3"
here="$(pwd -P)"

# The root importer's devDependencies (tsx) come from a root-only install in the build copy.
pnpm install --offline --frozen-lockfile --reporter=append-only --filter trustee-ts </dev/null

mkdir -p "$out"
cp package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc "$out/"
tar --exclude=node_modules -cf - packages "$service_dir" | tar -C "$out" -xf -
(cd "$out" && pnpm install --offline --frozen-lockfile --reporter=append-only --prod --filter "$package..." </dev/null)
sh "$here/deploy/docker/add-package-closure.sh" "$here" "$out" tsx

# better-sqlite3 is compiled in place (or fetched prebuilt): only the addon itself is loaded at run time.
for addon_dir in "$out"/node_modules/.pnpm/better-sqlite3@*/node_modules/better-sqlite3; do
  [ -f "$addon_dir/build/Release/better_sqlite3.node" ] || continue
  mv "$addon_dir/build/Release/better_sqlite3.node" "$out/.better_sqlite3.node"
  rm -rf "$addon_dir/build" "$addon_dir/deps" "$addon_dir/src"
  mkdir -p "$addon_dir/build/Release"
  mv "$out/.better_sqlite3.node" "$addon_dir/build/Release/better_sqlite3.node"
done
rm -f "$out/pnpm-lock.yaml" "$out/.npmrc" "$out/node_modules/.modules.yaml" "$out/node_modules/.pnpm-workspace-state-v1.json"

cd "$out"
node --import tsx "$service_dir/src/main.ts" --help >/dev/null
echo "build-runtime.sh: $package ready in $out ($(du -sh node_modules | cut -f1) of node_modules)"
