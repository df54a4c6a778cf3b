#!/usr/bin/env bash
# Stops a test environment started by start.sh and removes its state directory.
#
# Usage: stop.sh NAME [--dir DIR] [--keep]   (--keep leaves the state directory, e.g. logs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_common_args "$@"
keep=false
for a in "${ARGS[@]+"${ARGS[@]}"}"; do
  case "$a" in
    --keep) keep=true ;;
    *) die "unknown option $a" ;;
  esac
done

[[ -d "$DIR" ]] || exit 0
[[ -f "$DIR/.nvcf-testenv" ]] || die "$DIR is not a testenv directory"

# Clients first, so nothing logs errors about a vanished apiserver for long.
for c in kwok scheduler controller-manager; do
  terminate "$c"
done
terminate apiserver 20
terminate etcd
terminate watchdog
$keep || rm -rf "$DIR"
