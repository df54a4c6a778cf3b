#!/usr/bin/env bash
# Installs a prerequisite fixture (tests/fixtures/NAME) with kubectl, as `Env::install_fixture`
# does from Rust: CRDs, then objects, then the status a running controller would report.
#
#   tests/testenv/install-fixture.sh NAME [--without-status]     (uses $KUBECONFIG)
set -euo pipefail
name="${1:?usage: install-fixture.sh NAME [--without-status]}"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)/$name"
[ -d "$dir" ] || { echo "install-fixture.sh: no fixture $dir" >&2; exit 66; }
apply() { kubectl apply --server-side --field-manager=nvcf-testenv -f "$1" >/dev/null; }
if [ -f "$dir/crds.yaml" ]; then
  apply "$dir/crds.yaml"
  kubectl wait --for=condition=Established crd -l "nvcf-testenv/fixture=$name" --timeout=30s >/dev/null
fi
[ -f "$dir/objects.yaml" ] && apply "$dir/objects.yaml"
if [ "${2:-}" != "--without-status" ] && [ -f "$dir/status.json" ]; then
  python3 - "$dir/status.json" <<'PY' | while IFS=$'\t' read -r resource ns obj patch; do
import json, sys
for e in json.load(open(sys.argv[1])):
    print("\t".join([e["resource"], e.get("namespace") or "-", e["name"], json.dumps({"status": e["status"]})]))
PY
    args=("$resource" "$obj" --subresource=status --type=merge -p "$patch")
    [ "$ns" != "-" ] && args+=(-n "$ns")
    kubectl patch "${args[@]}" >/dev/null
  done
fi
echo "fixture $name installed" >&2
