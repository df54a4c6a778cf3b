#!/usr/bin/env bash
# Builds the test-environment binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, kwok, krew) from Go sources pinned in versions.env and go/go.mod.
#
# Binaries land in ~/.cache/nvcf-plugins/testenv/<version-key>/bin. The key hashes every
# input that changes the output, so a cached directory is reused only when it is exactly
# what this checkout would build; a missing or partial cache is simply rebuilt.
#
# Usage: build.sh [--print-key]   (stdout: the bin directory; progress goes to stderr)
set -euo pipefail

# Tests often point XDG_* at temporary directories to isolate the code under test; the
# binary caches (ours, Go's build cache, pip's) must not follow them, or every such run
# would rebuild from scratch. They live under ~/.cache unless explicitly overridden.
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

log() { printf '[testenv-build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v go >/dev/null || { log "go is not installed (need Go ${GO_MIN:-1.26})"; exit 1; }

go_version="$(go env GOVERSION)"
key_input="$(cat "$here/versions.env" "$here/go/go.mod" "$here/go/go.sum" "$here/go/etcd/main.go" \
  "$here/go/krew/go.mod" "$here/go/krew/go.sum"; echo "$go_version")"
key="${KUBERNETES_VERSION}-$(printf '%s' "$key_input" | sha256sum | cut -c1-16)"
if [[ "${1:-}" == "--print-key" ]]; then
  echo "$key"
  exit 0
fi

cache_root="${NVCF_TESTENV_CACHE:-$HOME/.cache/nvcf-plugins/testenv}"
dest="$cache_root/$key"
bin="$dest/bin"
binaries=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok krew)
stages="$dest/share/kwok-stages.yaml"

# KWOK fakes kubelet behaviour through Stage objects; its release ships the standard ones
# (fast node start, lease heartbeat, pods Running, Job pods Succeeded) as data in the module.
ensure_stages() {
  [[ -s "$stages" ]] && return 0
  local dir f
  dir="$(cd / && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir/kustomize/stage" ]] || { log "kwok ${KWOK_VERSION} sources have no kustomize/stage"; return 1; }
  mkdir -p "$dest/share"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"
    cat "$dir/kustomize/stage/$f"
  done >"$stages.tmp"
  mv "$stages.tmp" "$stages"
}

complete() {
  [[ -f "$dest/complete" ]] || return 1
  for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

if complete; then
  ensure_stages
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root"
# Test binaries may call this concurrently; only one of them should build.
exec 9>"$cache_root/.lock"
flock 9
if complete; then
  ensure_stages
  echo "$bin"
  exit 0
fi

# versions.env is the one place a version is chosen; the go.mod files must agree with it.
check_pin() {
  local dir="$1" module="$2" want="$3" got
  got="$(cd "$here/$dir" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$module")"
  [[ "$got" == "$want" ]] || { log "$dir/go.mod pins $module $got but versions.env says $want"; exit 1; }
}
check_pin go k8s.io/kubernetes "$KUBERNETES_VERSION"
check_pin go k8s.io/api "$KUBERNETES_STAGING_VERSION"
check_pin go go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin go/krew sigs.k8s.io/krew "$KREW_VERSION"

started=$SECONDS
work="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"

export CGO_ENABLED=0
# Go 1.27 switches encoding/json to the v2 implementation, which breaks the apiserver's
# /openapi/v2; the Kubernetes release we pin expects the v1 behaviour.
case "$go_version" in
  go1.2[0-6]* | go1.2[0-6]) ;;
  *) export GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}nojsonv2" ;;
esac

k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}"
k8s_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
log "kube-apiserver takes ~4-8 min cold on 2 cores; the rest reuse its packages"
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
  log "building $cmd ${KUBERNETES_VERSION}"
  (cd "$here/go" && go build -trimpath -ldflags "$k8s_ldflags" -o "$work/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done

log "building etcd ${ETCD_VERSION} (embedded server)"
(cd "$here/go" && go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" ./etcd)

# kwok has no replace directives, so the module proxy builds it as published.
log "building kwok ${KWOK_VERSION}"
(cd "$work" && GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
log "building krew ${KREW_VERSION}"
(cd "$here/go/krew" && go build -trimpath -o "$work/bin/krew" \
  -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=${KREW_VERSION}" sigs.k8s.io/krew/cmd/krew)

rm -rf "$dest"
mkdir -p "$dest"
mv "$work/bin" "$bin"
printf 'built %s in %ss with %s\n' "$key" "$((SECONDS - started))" "$go_version" >"$dest/complete"
ensure_stages
log "done in $((SECONDS - started))s: $bin"
echo "$bin"
