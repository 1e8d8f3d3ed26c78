#!/bin/sh
# `pnpm kbs|as|rvps|kbs-client [args...]` (package.json scripts call this).
#   NODE_ENV=production  the compiled JavaScript (`pnpm build` first) with plain node: no tsx, no
#                        TypeScript at run time. The `trustee-compiled` condition makes every
#                        @trustee/* import resolve to its package's dist/ entry (exports maps).
#   otherwise            the TypeScript sources through tsx (development).
# exec, so the service is pnpm's direct child and receives SIGTERM/SIGINT itself.
set -eu
[ "$#" -ge 1 ] || { echo "usage: $0 kbs|as|rvps|kbs-client [args...]" >&2; exit 2; }
name="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
case "$name" in
  kbs|as|rvps) dir="services/$name" main=main ;;
  kbs-client) dir="packages/kbs-client" main=cli ;;
  *) echo "$0: unknown program $name (kbs, as, rvps or kbs-client)" >&2; exit 2 ;;
esac
if [ "${NODE_ENV:-}" = "production" ]; then
  entry="$root/$dir/dist/$main.js"
  [ -f "$entry" ] || { echo "$0: $entry missing: run 'pnpm build' first (NODE_ENV=production runs the compiled output)" >&2; exit 1; }
  exec node --conditions=trustee-compiled "$entry" "$@"
fi
exec "$root/node_modules/.bin/tsx" "$root/$dir/src/$main.ts" "$@"
