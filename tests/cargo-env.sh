# Sourced by the README's two commands (tests/demo.sh, tests/test.sh) so they share one
# build: cargo's output is cached under ~/.cache, keyed by the compiler version.
rustc_key="$(rustc -V | tr -c 'A-Za-z0-9.\n' '-' | tr -d '\n')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nvcf-plugins/cargo-target/$rustc_key}"

# Our crates bake their checkout's path in (CARGO_MANIFEST_DIR: test scripts, fixtures),
# yet cargo names them without it. A cache last built from another checkout whose
# artifacts are newer than our sources would hand us binaries pointing into that
# checkout, so our own crates are rebuilt when the checkout changes (dependencies stay).
nvcf_checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
nvcf_marker="$CARGO_TARGET_DIR/.nvcf-checkout"
nvcf_checkout_prev="$(cat "$nvcf_marker" 2>/dev/null || true)"
if [[ -d "$CARGO_TARGET_DIR/debug" && "$(cat "$nvcf_marker" 2>/dev/null)" != "$nvcf_checkout" ]]; then
  echo "cargo cache was last built from ${nvcf_checkout_prev:-another checkout}: rebuilding this checkout's crates" >&2
  (cd "$nvcf_checkout" &&
    cargo metadata --no-deps --format-version 1 --offline 2>/dev/null |
    python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))' |
      while read -r pkg; do cargo clean -q -p "$pkg" 2>/dev/null || true; done)
fi
mkdir -p "$CARGO_TARGET_DIR"
printf '%s\n' "$nvcf_checkout" >"$nvcf_marker"
unset nvcf_checkout nvcf_marker nvcf_checkout_prev
