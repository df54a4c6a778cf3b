#!/usr/bin/env bash
# The real upstream stack (the real charts, NVCF_UPSTREAM_CHARTS or ../shared/upstream/charts)
# rendered three ways in the same run, for the same operator inputs
# (tests/e2e/tests/helm_nvcf_data/upstream/CASE.{env,stack}.yaml, default CASE=minimal):
#   - upstream's installer: `helmfile template` (built from its Go module) on upstream's stack;
#   - `helm template` run one release after another with the values render uses;
#   - `helm nvcf render --control-plane`, again with the same inputs (its render cache serves
#     the releases that render the same every time), and with NVCF_RENDER_CACHE=off.
# Reports ratios and our own CPU share; asserts nothing.
# Goals (issue 15): render >= 3x faster than helmfile template and >= 1.8x faster than
# sequential helm template; our own CPU under 10% of helm's.
#   tests/bench/real-stack-render.sh [CASE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
case_name="${1:-minimal}"
charts_real="${NVCF_UPSTREAM_CHARTS:-$root/../shared/upstream/charts}"
[[ -f "$charts_real/helm-nvcf-api/Chart.yaml" ]] ||
  { echo "the real charts are not at $charts_real: set NVCF_UPSTREAM_CHARTS" >&2; exit 66; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
tools="$(tests/tools/install-clients.sh)"
cargo build --release -p helm-nvcf >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release/helm-nvcf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/tests/e2e/tests/helm_nvcf_data/upstream"
config="$data/$case_name.stack.yaml"

# The stack as render sees it: the real charts with placeholder subcharts, plus stand-ins
# for the third-party charts (which upstream's helmfile cannot render offline either).
NVCF_UPSTREAM_CHARTS="$charts_real" tests/tools/stack-charts.sh "$work/charts" >/dev/null

# Upstream's installer, ten timed runs of the same `helmfile template`.
NVCF_UPSTREAM_DIR="$charts_real/.." tests/tools/helmfile-template.sh bench \
  --env-file "$data/$case_name.env.yaml" --repeat 10 >"$work/helmfile.tsv" 2>"$work/helmfile.log"
grep -Eo 'repeat [0-9]+ wall time: [0-9.]+' "$work/helmfile.log" | awk '{print $5}' >"$work/helmfile.times"
releases_upstream="$(grep -Eo "rendered releases: .*" "$work/helmfile.log" | tr " " "\n" | grep -c /)"

# The sequential baseline: exactly the helm commands render runs, from render's own plan.
export HOME="$work" XDG_CACHE_HOME="$work/.cache"
HELM_BIN="$tools/helm3" "$bin" values --stack-config "$config" >"$work/values.yaml"
python3 tests/bench/lib/sequential-helm.py "$work" "$work/charts" "$root/shared/stack/catalog.yaml" "$config" control
chmod +x "$work/sequential.sh"

helm="$tools/helm3"
HELM="$helm" hyperfine -N --warmup 2 --runs 10 --export-json "$work/hf.json" \
  -n "sequential helm template" "env HELM=$helm $work/sequential.sh" \
  -n "helm nvcf render" \
  "env HELM_BIN=$helm $bin render --control-plane --stack-config $config --chart-source dir:$work/charts" \
  -n "helm nvcf render (no render cache)" \
  "env HELM_BIN=$helm NVCF_RENDER_CACHE=off $bin render --control-plane --stack-config $config --chart-source dir:$work/charts" \
  -n "helm nvcf values (no helm)" "$bin values --stack-config $config" >&2
python3 - "$work/hf.json" "$work/helmfile.times" "$releases_upstream" <<'PY'
import json, statistics, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
helmfile = statistics.median(float(t) for t in open(sys.argv[2]).read().split())
seq, ours, values = res["sequential helm template"], res["helm nvcf render"], res["helm nvcf values (no helm)"]
cold = res["helm nvcf render (no render cache)"]
cpu = lambda r: r["user"] + r["system"]
print(f"real stack, {sys.argv[3]} releases rendered by upstream's helmfile (same inputs)")
print(f"helmfile template median {helmfile*1000:.0f} ms, helm nvcf render median "
      f"{ours['median']*1000:.0f} ms: {helmfile/ours['median']:.2f}x faster (goal >= 3x)")
print(f"  the same inputs rendered again: releases whose charts mint values per render (or hold "
      f"Secrets) run helm, the rest come from the render cache")
print(f"  with NVCF_RENDER_CACHE=off (every release through helm): median {cold['median']*1000:.0f} ms, "
      f"{helmfile/cold['median']:.2f}x faster than helmfile")
print(f"sequential helm template median {seq['median']*1000:.0f} ms: "
      f"{seq['median']/ours['median']:.2f}x faster (goal >= 1.8x)")
print(f"our own CPU: values phase {cpu(values)*1000:.0f} ms = {cpu(values)/cpu(seq)*100:.1f}% "
      f"of helm's {cpu(seq)*1000:.0f} ms (goal < 10%)")
PY
