#!/usr/bin/env bash
# Start-up of our binaries against the real `kubectl version --client`, measured in the same
# run with hyperfine, plus release binary sizes. Reports ratios; asserts nothing.
#   tests/bench/startup.sh            (builds release binaries first)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
tools="$(tests/tools/install-clients.sh)"
cargo build --release --bins -p kubectl-nvcf -p kubectl-nvca -p helm-nvcf >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_CACHE_HOME="$home/.cache" PATH="$tools:$PATH"
# Warm the tool-version cache once, as any second run of `version` finds it.
"$bin/kubectl-nvcf" version >/dev/null
out="$home/startup.json"
hyperfine -N --warmup 5 --runs 60 --export-json "$out" \
  -n 'kubectl version --client' "$tools/kubectl version --client" \
  -n 'kubectl nvcf --help' "$bin/kubectl-nvcf --help" \
  -n 'kubectl nvcf version' "$bin/kubectl-nvcf version" >&2
python3 - "$out" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
peer = r["kubectl version --client"]["median"]
print(f"peer: kubectl version --client median {peer*1000:.2f} ms")
for name in ("kubectl nvcf --help", "kubectl nvcf version"):
    m = r[name]["median"]
    print(f"{name}: median {m*1000:.2f} ms = {m/peer:.3f}x kubectl (goal <= 0.05x)")
PY
for b in kubectl-nvcf kubectl-nvca helm-nvcf kubectl_complete-nvcf; do
  size=$(stat -c %s "$bin/$b")
  printf '%s: %.1f MB (goal <= 10 MB)\n' "$b" "$(echo "$size / 1000000" | bc -l)"
done
