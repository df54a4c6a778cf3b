#!/usr/bin/env bash
# Builds the CNCF distribution registry (the reference OCI registry) from its Go module,
# for tests that push and pull charts over a real OCI registry on loopback.
#
# Kept apart from build.sh: its version is not part of the cluster's cache key, so
# changing it never rebuilds kube-apiserver. The binary lands in
# ~/.cache/nvcf-plugins/registry/<version>-<go version>/bin/registry.
#
# Usage: build-registry.sh   (stdout: the binary's path; progress goes to stderr)
set -euo pipefail
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

DISTRIBUTION_VERSION=v3.1.2

log() { printf '[registry-build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
command -v go >/dev/null || { log "go is not installed"; exit 1; }

cache_root="${NVCF_TESTENV_CACHE:-$HOME/.cache/nvcf-plugins}/registry"
dest="$cache_root/${DISTRIBUTION_VERSION}-$(go env GOVERSION)"
binary="$dest/bin/registry"
[[ -f "$dest/complete" && -x "$binary" ]] && { echo "$binary"; exit 0; }

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
[[ -f "$dest/complete" && -x "$binary" ]] && { echo "$binary"; exit 0; }

started=$SECONDS
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "building distribution registry ${DISTRIBUTION_VERSION}"
(cd "$work" && CGO_ENABLED=0 GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" \
  "github.com/distribution/distribution/v3/cmd/registry@${DISTRIBUTION_VERSION}")
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/bin" "$dest/bin"
printf 'built in %ss\n' "$((SECONDS - started))" >"$dest/complete"
log "done in $((SECONDS - started))s: $binary"
echo "$binary"
