#!/usr/bin/env bash
# `kubectl nvcf status` against `kubectl get` of the same objects (the same kinds and
# selectors status lists), measured in the same run with hyperfine on a test cluster with
# the real charts installed by real helm (with the stack's values); then the number of sequential waves of API
# requests status made, from the apiserver's audit log. Reports; asserts nothing.
#   tests/bench/status.sh              (release build; NVCF_BENCH_PROFILE=debug for a quick look)
# Goals (issue 7): status <= 0.5x the kubectl time; at most two waves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
tools="$(tests/tools/install-clients.sh)"
profile="${NVCF_BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --release -p kubectl-nvcf -p helm-nvcf >&2; else cargo build -p kubectl-nvcf -p helm-nvcf >&2; fi
bin="${CARGO_TARGET_DIR:-$root/target}/$profile/kubectl-nvcf"
name="bench-status-$$"
eval "$(tests/testenv/start.sh "$name" | grep '=')"
work="$(mktemp -d)"
trap 'tests/testenv/stop.sh "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export KUBECONFIG HOME="$work" XDG_CACHE_HOME="$work/.cache" PATH="$tools:$PATH"
charts="$(tests/tools/stack-charts.sh "$work/charts")"
helm_nvcf="${CARGO_TARGET_DIR:-$root/target}/$profile/helm-nvcf"
config="$root/tests/e2e/tests/helm_nvcf_data/local.yaml"

# Every release that needs no prerequisite beyond the cluster (no PVs, no CRDs from
# elsewhere), under its catalog name and namespace, with the stack's values, in parallel.
install() {
  NVCF_TEST_REGISTRY_KEY=bench "$helm_nvcf" values --release "$1" --stack-config "$config" >"$work/$1.values.yaml"
  helm4 upgrade --install "$1" "$charts/$2" -n "$3" --create-namespace --wait --timeout 180s \
    -f "$work/$1.values.yaml" >/dev/null
}
install api helm-nvcf-api nvcf & install invocation-service helm-nvcf-invocation-service nvcf &
install grpc-proxy helm-nvcf-grpc-proxy nvcf & install notary-service helm-nvcf-notary-service nvcf &
install nvct-api helm-nvcf-nvct-api nvcf & install reval helm-reval nvcf &
install sis helm-nvcf-sis sis & install api-keys helm-nvcf-api-keys api-keys &
install ess-api helm-nvcf-ess-api ess &
install nvca-operator helm-nvca-operator nvca-operator &
wait
echo "installed: $(kubectl get secrets -A -l owner=helm --no-headers | wc -l) helm release revisions" >&2

# The same reads with kubectl: one `kubectl get` per kind and selector, as status lists them.
cat >"$work/kubectl-get.sh" <<SH
#!/bin/sh
k() { kubectl get "\$@" -A -o json >/dev/null 2>&1 || true; }
k secrets -l owner=helm
k jobs.batch
k events --field-selector=type=Warning
k deployments.apps
k statefulsets.apps
k httproutes.gateway.networking.k8s.io
k tcproutes.gateway.networking.k8s.io
k clusterissuers.cert-manager.io
k servicemonitors.monitoring.coreos.com
k opentelemetrycollectors.opentelemetry.io
k topologies.kai.scheduler
k clustertopologybindings.grove.io
k nvcfbackends.nvcf.nvidia.io
k configmaps --field-selector=metadata.namespace=nvca-operator,metadata.name=nvca-cluster-registration
SH
chmod +x "$work/kubectl-get.sh"
"$work/kubectl-get.sh"   # warm kubectl's discovery cache, as any second run finds it
"$bin" status -o json >/dev/null
hyperfine -N --warmup 2 --runs 15 --export-json "$work/h.json" \
  -n status "$bin status -o json" \
  -n kubectl-get "$work/kubectl-get.sh" >&2
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"status {r['status']*1000:.0f} ms, kubectl get {r['kubectl-get']*1000:.0f} ms, ratio {r['status']/r['kubectl-get']:.2f}x (goal <= 0.5x)")
PY

# Waves: the longest chain of status's requests where each starts after the previous ended.
before=$(wc -c <"$NVCF_TESTENV_AUDIT_LOG")
"$bin" status -o json >/dev/null
sleep 2
python3 - "$NVCF_TESTENV_AUDIT_LOG" "$before" <<'PY'
import json, sys
from datetime import datetime
log, start = sys.argv[1], int(sys.argv[2])
f = open(log, "rb"); f.seek(start)
ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
reqs = []
for line in f:
    e = json.loads(line)
    if e.get("userAgent", "").startswith("kubectl-nvcf/") and e.get("stage") == "ResponseComplete":
        reqs.append((ts(e["requestReceivedTimestamp"]), ts(e["stageTimestamp"]), e["verb"]))
reqs.sort()
depth = []
for i, (s, _, _) in enumerate(reqs):
    depth.append(1 + max([depth[j] for j in range(i) if reqs[j][1] <= s] or [0]))
verbs = sorted({v for _, _, v in reqs})
print(f"status made {len(reqs)} requests ({', '.join(verbs)}) in {max(depth or [0])} sequential wave(s) (goal <= 2)")
# The strict chain above also counts a request that was sent in the same burst but reached
# the server after a quick one (an empty list) had been answered; the spread says how wide
# the burst arrived and how long the server took for all of it.
if reqs:
    spread = (reqs[-1][0] - reqs[0][0]) * 1000
    span = (max(e for _, e, _ in reqs) - reqs[0][0]) * 1000
    print(f"all {len(reqs)} requests reached the API server within {spread:.1f} ms; the last answer left {span:.1f} ms after the first request arrived")
PY
