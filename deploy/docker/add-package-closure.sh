#!/bin/sh
# Usage: add-package-closure.sh FROM_ROOT TO_ROOT PACKAGE
#
# The runtime images install production dependencies only, but they run TypeScript through tsx,
# a root devDependency. This copies PACKAGE as FROM_ROOT resolved it, plus every package it links
# to in pnpm's virtual store (FROM_ROOT/node_modules/.pnpm), into TO_ROOT's virtual store, then
# links it as TO_ROOT/node_modules/PACKAGE. Versions are exactly the lockfile's (FROM_ROOT was
# installed with --frozen-lockfile); entries TO_ROOT already has are left alone.
set -eu
[ "$#" -eq 3 ] || { echo "usage: $0 FROM_ROOT TO_ROOT PACKAGE" >&2; exit 2; }
from_root="$(cd "$1" && pwd -P)"
to_root="$(cd "$2" && pwd -P)"
package="$3"
from_store="$from_root/node_modules/.pnpm"
to_store="$to_root/node_modules/.pnpm"

# Prints the virtual-store entry (e.g. tsx@4.23.15) a node_modules link resolves into.
entry_of() {
  resolved="$(readlink -f "$1")"
  case "$resolved" in
    "$from_store"/*) rest="${resolved#"$from_store"/}"; printf '%s\n' "${rest%%/*}" ;;
    *) echo "add-package-closure.sh: $1 does not resolve into $from_store" >&2; exit 1 ;;
  esac
}

[ -e "$from_root/node_modules/$package" ] || { echo "add-package-closure.sh: $package is not installed in $from_root" >&2; exit 1; }
mkdir -p "$to_store"
root_entry="$(entry_of "$from_root/node_modules/$package")"
queue="$root_entry"
copied=0
while [ -n "$queue" ]; do
  entry="${queue%% *}"
  case "$queue" in *" "*) queue="${queue#* }" ;; *) queue="" ;; esac
  [ -e "$to_store/$entry" ] && continue
  cp -a "$from_store/$entry" "$to_store/"
  copied=$((copied + 1))
  for link in "$from_store/$entry"/node_modules/* "$from_store/$entry"/node_modules/@*/*; do
    [ -L "$link" ] || continue
    case "$(readlink -f "$link")" in
      "$from_store"/*) queue="${queue:+$queue }$(entry_of "$link")" ;;
    esac
  done
done
case "$package" in
  */*) mkdir -p "$to_root/node_modules/${package%/*}"; prefix=../ ;;
  *) prefix= ;;
esac
ln -sfn "${prefix}.pnpm/$root_entry/node_modules/$package" "$to_root/node_modules/$package"
echo "add-package-closure.sh: $package ($root_entry) and $((copied - 1)) dependencies copied"
