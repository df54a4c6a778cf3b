#!/usr/bin/env bash
# Prepares the stack's charts as an operator's install sees them, in OUT_DIR (created):
#   - the real upstream NVCF charts, from NVCF_UPSTREAM_CHARTS (default: ../shared/upstream/charts
#     beside the repository), copied with a placeholder for each subchart they declare but do
#     not vendor (tests/tools/placeholder-subcharts.sh);
#   - our stand-ins (tests/fixtures/charts) for the charts upstream does not publish there:
#     the third-party charts its helmfiles pull from public repositories, and state-metrics;
#     KAI Scheduler, Grove and Dynamo rebuilt from upstream's golden output of those real
#     charts when the upstream checkout has it (tests/tools/golden-stand-ins.py).
# Prints OUT_DIR. Exits 66, saying where to point NVCF_UPSTREAM_CHARTS, without the real charts.
# The real directory is never modified.
#   tests/tools/stack-charts.sh OUT_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: stack-charts.sh OUT_DIR}"
real="${NVCF_UPSTREAM_CHARTS:-$root/../shared/upstream/charts}"
if [[ ! -f "$real/helm-nvcf-api/Chart.yaml" ]]; then
  echo "stack-charts.sh: the real upstream NVCF charts are not at $real" >&2
  echo "stack-charts.sh: set NVCF_UPSTREAM_CHARTS=DIR to a copy of upstream's charts/ directory" >&2
  exit 66
fi
# The one list of stand-ins; tests/e2e/src/upstream.rs reads it from here.
stand_ins=(kai-scheduler grove-charts dynamo-platform prometheus-operator-crds
  opentelemetry-operator victoria-metrics-single helm-nvcf-state-metrics)
"$root/tests/tools/placeholder-subcharts.sh" "$real" "$out" >/dev/null
for chart in "${stand_ins[@]}"; do
  rm -rf "${out:?}/$chart"
  cp -R "$root/tests/fixtures/charts/$chart" "$out/$chart"
done
# KAI Scheduler, Grove and Dynamo as the real charts render them: upstream's golden output
# of its compute-plane helmfile, beside the charts in the same checkout.
golden="$real/../stacks/nvcf-compute-plane/testdata/golden/local"
if [[ -d "$golden" ]]; then
  # Its progress lines are noise; its failure must not be: keep stderr for the error path.
  if ! msg=$(python3 "$root/tests/tools/golden-stand-ins.py" "$golden" "$root/tests/fixtures/charts" "$out" 2>&1); then
    echo "stack-charts.sh: rebuilding the KAI/Grove/Dynamo stand-ins from $golden failed:" >&2
    echo "$msg" >&2
    exit 1
  fi
else
  echo "stack-charts.sh: WARNING: no upstream golden output at $golden;" \
    "KAI Scheduler, Grove and Dynamo are the catalog-generated stand-ins" >&2
fi
echo "$out"
