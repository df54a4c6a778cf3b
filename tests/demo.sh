#!/usr/bin/env bash
# The main job on the built-in local environment: builds the plugins, starts a real
# Kubernetes control plane on loopback (kube-apiserver, etcd, controller-manager, scheduler,
# KWOK GPU nodes, all built from Go sources by tests/testenv) and the NVCF simulator, and
# drives the plugins against them. It grows as capabilities land.
#
#   tests/demo.sh          run, then stop everything
#   tests/demo.sh --keep   leave the cluster and simulator running and say how to use them
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
keep=false
[ "${1:-}" = "--keep" ] && keep=true
step() { printf '\n==> %s\n' "$*" >&2; }
show() { printf '$ %s\n' "$*" >&2; "$@"; }

step "real helm, kubectl and the Go-built cluster binaries (first run builds for ~10 min; cached after)"
tools="$(tests/tools/install-clients.sh)"
tests/testenv/build.sh >/dev/null

step "building the plugins"
cargo build --bins -p kubectl-nvcf -p kubectl-nvca -p helm-nvcf -p nvcf-sim
target="${CARGO_TARGET_DIR:-$root/target}/debug"
bindir="$(mktemp -d)"
for b in kubectl-nvcf kubectl-nvca kubectl_complete-nvcf kubectl_complete-nvca helm-nvcf nvcf-sim; do
  ln -s "$target/$b" "$bindir/$b"
done
ln -s "$tools/kubectl" "$bindir/kubectl"
ln -s "$tools/helm4" "$bindir/helm"
export PATH="$bindir:$PATH"
# The demo's profiles and helm plugins live beside it, not in your own config.
export XDG_CONFIG_HOME="$bindir/config" XDG_CACHE_HOME="$bindir/cache"

step "starting the local cluster 'demo'"
eval "$(tests/testenv/start.sh demo)"
export KUBECONFIG
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
  tests/testenv/stop.sh demo >/dev/null 2>&1 || true
  rm -rf "$bindir"
}
$keep || trap cleanup EXIT
show kubectl get nodes -L nvidia.com/gpu.product

step "the plugins as kubectl and helm see them"
show kubectl plugin list
show kubectl nvcf version
show kubectl nvcf context
show kubectl nvca context -o wide
export HELM_DATA_HOME="$bindir/helm-data" HELM_CONFIG_HOME="$bindir/helm-config" HELM_CACHE_HOME="$bindir/helm-cache"
plugin="$bindir/helm-plugin"
mkdir -p "$plugin/bin" "$plugin/scripts"
cp plugins/helm-nvcf/plugin.yaml "$plugin/"
cp plugins/helm-nvcf/scripts/install.sh "$plugin/scripts/"
cp "$target/helm-nvcf" "$plugin/bin/"
show helm plugin install "$plugin" --verify=false
show helm -n nvcf nvcf context

step "the NVCF simulator, and a profile pointing at it"
sim_log="$bindir/sim.log"
nvcf-sim --port 0 --domain nvcf.local >"$sim_log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do grep -q 'NVCF_BASE_HTTP_URL' "$sim_log" && break; sleep 0.1; done
base_url="$(sed -n 's/.*NVCF_BASE_HTTP_URL=\([^ ]*\).*/\1/p' "$sim_log" | head -1 | tr -d '"')"
api_host="$(sed -n 's/.*API_HOST=\([^ ]*\).*/\1/p' "$sim_log" | head -1 | tr -d '"')"
show kubectl nvcf profile set base_http_url "$base_url"
show kubectl nvcf profile set api_host "$api_host"
show kubectl nvcf profile show

if $keep; then
  trap - EXIT
  cat >&2 <<MSG

The cluster and the simulator keep running:
  export KUBECONFIG=$KUBECONFIG PATH=$bindir:\$PATH
  kubectl get nodes
  tests/testenv/stop.sh demo; kill $sim_pid     # when done
MSG
fi
