#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/fuzz_targets) with libFuzzer through cargo fuzz.
#   tests/fuzz.sh [SECONDS] [TARGET...]      SECONDS per target, default 60
#   NVCF_FUZZ_RUNS=1000000 tests/fuzz.sh 0    instead: this many executions per target
# The property checked on every input: no panic, no hang over 1 s (-timeout=1), and every
# rejection is one of our errors with a user-facing category and exit code (fuzz/src/lib.rs).
# First each target replays its regression inputs (fuzz/regressions/TARGET: crashes found
# and fixed), then it runs from the seeds (fuzz/seeds, plus the repo's own test data) and a
# corpus kept under ~/.cache. A final line per target gives its executions and outcome.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
cache="$HOME/.cache/nvcf-plugins"

# Targets are built with libFuzzer's instrumentation, which needs the nightly compiler.
rustup toolchain list | grep -q '^nightly' ||
  rustup toolchain install nightly --profile minimal >&2
cargo_fuzz_version=0.13.2
tool="$cache/tools/cargo-fuzz-$cargo_fuzz_version"
[[ -x "$tool/bin/cargo-fuzz" ]] ||
  cargo +stable install --locked --quiet --root "$tool" cargo-fuzz --version "$cargo_fuzz_version" >&2
export PATH="$tool/bin:$PATH"
nightly_key="$(rustc +nightly -V | tr -c 'A-Za-z0-9.\n' '-' | tr -d '\n')"
export CARGO_TARGET_DIR="$cache/fuzz-target/$nightly_key"

cd "$root/fuzz"
mapfile -t all < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^nvcf-fuzz$')
targets=("${@:-${all[@]}}")
# Safe Rust end to end: the sanitizer would add nothing a panic does not already catch, and
# builds three times slower. Debug assertions stay on, so overflow is a finding too.
echo "==> building the fuzz targets (nightly: $nightly_key)" >&2
mkdir -p "$CARGO_TARGET_DIR"
if ! cargo +nightly fuzz build --sanitizer none --debug-assertions >"$CARGO_TARGET_DIR/build.log" 2>&1; then
  tail -40 "$CARGO_TARGET_DIR/build.log" >&2
  exit 1
fi
bin_dir="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

# Seeds from the repo's own data, so the fuzzer starts from inputs users really write.
seed() {
  local target="$1" dir="$2"
  mkdir -p "$dir"
  [[ -d "seeds/$target" ]] && cp -f "seeds/$target"/* "$dir"/ 2>/dev/null || true
  case "$target" in
    stack_config)
      for f in "$root"/tests/e2e/tests/helm_nvcf_data/*.yaml "$root"/tests/e2e/tests/helm_nvcf_data/upstream/*.stack.yaml; do
        [[ -f "$f" ]] && cp -f "$f" "$dir/repo-$(basename "$f")"
      done ;;
    input_file)
      find "$root/tests" "$root/docs" -name '*.json' -size -16k 2>/dev/null | grep -Ev '/(target|node_modules)/' |
        head -40 | while read -r f; do cp -f "$f" "$dir/repo-$(echo "$f" | tr / _)"; done ;;
  esac
}

status=0
report=()
# A smoke (a few seconds) starts from the seeds alone: the corpus a long run grows in the
# cache takes longer to load than the smoke's whole budget.
smoke_dir=""
if [[ -z "${NVCF_FUZZ_RUNS:-}" && "$seconds" -le 10 ]]; then
  smoke_dir="$(mktemp -d)"
  trap 'rm -rf "$smoke_dir"' EXIT
fi
for t in "${targets[@]}"; do
  corpus="${smoke_dir:-$cache/fuzz-corpus}/$t"
  seed "$t" "$corpus"
  if [[ -d "regressions/$t" ]] && compgen -G "regressions/$t/*" >/dev/null; then
    if ! "$bin_dir/$t" -runs=0 -timeout=1 regressions/"$t"/* >"$CARGO_TARGET_DIR/$t.regressions.log" 2>&1; then
      echo "FAIL $t: a regression input fails again (log: $CARGO_TARGET_DIR/$t.regressions.log)" >&2
      tail -20 "$CARGO_TARGET_DIR/$t.regressions.log" >&2
      report+=("$t: regression inputs FAILED")
      status=1
      continue
    fi
  fi
  mkdir -p "artifacts/$t"
  log="$CARGO_TARGET_DIR/$t.log"
  limit=(-max_total_time="$seconds")
  [[ -n "${NVCF_FUZZ_RUNS:-}" ]] && limit=(-runs="$NVCF_FUZZ_RUNS")
  started_at=$SECONDS
  if "$bin_dir/$t" "$corpus" "${limit[@]}" -timeout=1 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    outcome="no crash, no hang"
  else
    outcome="FAILED (input kept in fuzz/artifacts/$t; log $log)"
    tail -30 "$log" >&2
    status=1
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  report+=("$t: ${execs:-0} executions in $((SECONDS - started_at))s, corpus $(find "$corpus" -type f | wc -l) inputs: $outcome")
done
printf 'fuzz %s\n' "${report[@]}"
exit "$status"
