#!/usr/bin/env bash
# Full-stack `helm nvcf render` against `helm template` run one release after another on
# the same charts and the same values, measured in the same run with hyperfine, on helm 3
# and helm 4. Reports ratios; asserts nothing.
#   tests/bench/helm-nvcf-render.sh        (builds the release binary first)
# Goals (issue 6): render >= 1.8x faster than sequential helm on two cores, and our own
# CPU time (render's total CPU minus the same helm work) under 10% of helm's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
tools="$(tests/tools/install-clients.sh)"
cargo build --release -p helm-nvcf >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release/helm-nvcf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The stack's charts as an install sees them (the real upstream charts; exits 66 without them).
charts="$(tests/tools/stack-charts.sh "$work/charts")"
config="$root/tests/e2e/tests/helm_nvcf_data/full-stack.yaml"
export HOME="$work" XDG_CACHE_HOME="$work/.cache"

# The sequential baseline runs exactly the helm commands render runs: same releases,
# namespaces, charts, values and flags, taken from render's own plan.
HELM_BIN="$tools/helm3" "$bin" values --stack-config "$config" >"$work/values.yaml"
python3 tests/bench/lib/sequential-helm.py "$work" "$charts" "$root/shared/stack/catalog.yaml" "$config"
chmod +x "$work/sequential.sh"

for major in 3 4; do
  helm="$tools/helm$major"
  out="$work/helm$major.json"
  HELM="$helm" hyperfine -N --warmup 2 --runs 15 --export-json "$out" \
    -n "sequential helm$major template" "env HELM=$helm $work/sequential.sh" \
    -n "helm nvcf render (helm$major)" \
    "env HELM_BIN=$helm $bin render --stack-config $config --chart-source dir:$charts" \
    -n "helm nvcf values (no helm)" "$bin values --stack-config $config" >&2
  python3 - "$out" "$major" <<'PY'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
major = sys.argv[2]
seq = res[f"sequential helm{major} template"]
ours = res[f"helm nvcf render (helm{major})"]
cpu = lambda r: r["user"] + r["system"]
print(f"helm {major}: sequential helm template median {seq['median']*1000:.0f} ms, "
      f"helm nvcf render median {ours['median']*1000:.0f} ms: "
      f"{seq['median']/ours['median']:.2f}x faster (goal >= 1.8x)")
# Two views of our own CPU: the values phase (everything before helm runs), and render's
# total CPU minus the same helm work run sequentially (noisy: it is a difference).
values = res["helm nvcf values (no helm)"]
extra = cpu(ours) - cpu(seq)
print(f"helm {major}: CPU helm alone {cpu(seq)*1000:.0f} ms, render total {cpu(ours)*1000:.0f} ms; "
      f"ours: values phase {cpu(values)*1000:.0f} ms ({cpu(values)/cpu(seq)*100:.1f}% of helm's), "
      f"render minus helm {extra*1000:+.0f} ms ({extra/cpu(seq)*100:+.1f}%) (goal < 10%)")
PY
done
