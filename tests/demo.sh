#!/usr/bin/env bash
# The main job on the built-in local environment: builds the plugins, starts a real
# Kubernetes control plane on loopback (kube-apiserver, etcd, controller-manager, scheduler,
# KWOK GPU nodes, all built from Go sources by tests/testenv) and the NVCF simulator, and
# runs the whole lifecycle: check --pre -> up -> function create/deploy/invoke -> status -> down.
#
# Plainly: the NVCF control-plane API here is nvcf-sim (a simulator written to the published
# API contracts, not NVIDIA's services). The stack `up` installs is upstream's real NVCF
# charts (NVCF_UPSTREAM_CHARTS, default ../shared/upstream/charts; tests/tools/stack-charts.sh
# adds placeholders for the two subcharts upstream does not vendor and our stand-ins for the
# third-party charts); KWOK runs their pods without running the images. The Kubernetes,
# helm and kubectl are real.
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

step "building the plugins (the same cached build tests/test.sh uses)"
# shellcheck source=tests/cargo-env.sh
. "$root/tests/cargo-env.sh"
cargo build --bins -p kubectl-nvcf -p kubectl-nvca -p helm-nvcf -p nvcf-sim
target="$CARGO_TARGET_DIR/debug"
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

step "pre-flight checks on the bare local cluster (each failure shows its fix)"
show kubectl nvcf check --pre || true

step "preparing the cluster the way an operator would: StorageClass, GPU Operator, KAI, Gateway API (stand-ins)"
for fixture in storage gpu-operator kai-scheduler gateway-api; do
  tests/testenv/install-fixture.sh "$fixture"
done
kubectl apply --server-side -f tests/e2e/tests/helm_nvcf_data/gateway-experimental-crds.yaml >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
# The test cluster has no volume provisioner: static volumes for the stack's StatefulSets.
for i in $(seq 0 11); do
  printf -- '---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: demo-pv-%s}\nspec: {storageClassName: standard, capacity: {storage: 10Gi}, accessModes: [ReadWriteOnce], persistentVolumeReclaimPolicy: Delete, hostPath: {path: /tmp/demo-pv-%s}}\n' "$i" "$i"
done | kubectl apply -f - >/dev/null
show kubectl nvcf check --pre

step "the NVCF simulator (a stand-in for the control-plane APIs, not NVCF)"
sim_log="$bindir/sim.log"
nvcf-sim --port 0 --domain nvcf.local >"$sim_log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q '^export NVCF_CLIENT_ID' "$sim_log" && break; sleep 0.1; done
eval "$(grep '^export ' "$sim_log")"
export NVCF_PROFILE=demo
export NVCF_STACK_CONFIG="$root/tests/e2e/tests/helm_nvcf_data/local.yaml"
export NVCF_TEST_REGISTRY_KEY=demo-registry-password
charts="dir:$(tests/tools/stack-charts.sh "$bindir/charts")"

step "up: the plan first (no lock, no cluster or API call), then the eight phases"
show kubectl nvcf up --cluster-name demo-gpu --chart-source "$charts" --plan-only
show kubectl nvcf up --cluster-name demo-gpu --chart-source "$charts"

step "a function end to end: API keys, create, deploy, invoke (HTTP and gRPC)"
show kubectl nvcf api-key generate --description demo >/dev/null
show kubectl nvcf function create --name echo-demo --image nvcr.io/demo/echo:1 \
  --inference-url /echo --inference-port 8000 --health-uri /health
show kubectl nvcf function deploy create --gpu A10G --instance-type NCP.GPU.A10G_1x
show kubectl nvcf function invoke --request-body '{"message":"hello from the demo"}'
show kubectl nvcf function create --name grpc-demo --image nvcr.io/demo/grpc-echo:1 \
  --inference-url /grpc --inference-port 8001
show kubectl nvcf function deploy create --gpu A10G --instance-type NCP.GPU.A10G_1x
show kubectl nvcf function invoke --request-body '{"message":"hello over gRPC"}'

step "status: identity, every release's health, the NVCFBackend, recent warnings"
show kubectl nvcf status
show kubectl nvca rotate --check

step "down: the plan first (nothing written), then drain, uninstall the compute plane, deregister"
show kubectl nvcf down --cluster-name demo-gpu --confirm --plan-only
show kubectl nvcf down --cluster-name demo-gpu --confirm
show kubectl nvca list

if $keep; then
  trap - EXIT
  cat >&2 <<MSG

The cluster and the simulator keep running:
  export KUBECONFIG=$KUBECONFIG PATH=$bindir:\$PATH
  kubectl get nodes
  tests/testenv/stop.sh demo; kill $sim_pid     # when done
MSG
fi
