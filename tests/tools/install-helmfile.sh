#!/usr/bin/env bash
# Builds helmfile from its Go module, for tests that run upstream's real helmfile stacks
# (tests/tools/helmfile-template.sh) and compare them with our renderer.
#
# Version: upstream's stacks require helmfile ">=1.1.0 <1.2.0" (Makefile.dist: v1.2.0 made
# helmfile.d processing parallel) and pin v1.1.9 for development. The Go module proxy we can
# reach serves only some tags (v1.1.8 and v1.1.9 answer 403 "not available"), so we pin
# v1.1.7, the newest 1.1.x it serves. Override with HELMFILE_VERSION=vX.Y.Z.
#
# The module is built from a writable copy of its source (`go mod download` + `go build`)
# rather than `go install pkg@version`, which refuses modules whose go.mod has replace
# directives (v1.1.7 has none, but other tags may).
#
# helmfile needs the helm-diff plugin only for `diff`/`apply`; `helmfile template` runs
# plain `helm template` and needs no plugin.
#
# The binary lands in ~/.cache/nvcf-plugins/helmfile/<version>-<go version>/bin/helmfile.
# Usage: install-helmfile.sh   (stdout: the binary's path; progress goes to stderr)
set -euo pipefail
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

HELMFILE_VERSION="${HELMFILE_VERSION:-v1.1.7}"
HELMFILE_MODULE=github.com/helmfile/helmfile

log() { printf '[helmfile-build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
command -v go >/dev/null || { log "go is not installed"; exit 1; }

cache_root="${NVCF_TESTENV_CACHE:-$HOME/.cache/nvcf-plugins}/helmfile"
dest="$cache_root/${HELMFILE_VERSION}-$(go env GOVERSION)"
binary="$dest/bin/helmfile"
[[ -f "$dest/complete" && -x "$binary" ]] && { echo "$binary"; exit 0; }

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
[[ -f "$dest/complete" && -x "$binary" ]] && { echo "$binary"; exit 0; }

started=$SECONDS
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
# The module cache is read-only; make the copy removable before deleting it.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
log "downloading ${HELMFILE_MODULE}@${HELMFILE_VERSION}"
module_dir="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "${HELMFILE_MODULE}@${HELMFILE_VERSION}" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$module_dir" && -f "$module_dir/go.mod" ]] || {
  log "go mod download did not return the module source (is ${HELMFILE_VERSION} served by the proxy?)"
  exit 1
}
cp -r "$module_dir" "$work/src"
chmod -R u+w "$work/src"
log "building helmfile ${HELMFILE_VERSION}"
(cd "$work/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
  -ldflags "-s -w -X go.szostok.io/version.version=${HELMFILE_VERSION}" \
  -o "$work/bin/helmfile" .)
HELMFILE_UPGRADE_NOTICE_DISABLED=1 "$work/bin/helmfile" version -o short >&2 || true
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/bin" "$dest/bin"
printf 'built in %ss\n' "$((SECONDS - started))" >"$dest/complete"
log "done in $((SECONDS - started))s: $binary"
echo "$binary"
