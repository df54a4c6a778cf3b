# Sourced by the README's two commands (tests/demo.sh, tests/test.sh) so they share one
# build: cargo's output is cached under ~/.cache, keyed by the compiler version.
rustc_key="$(rustc -V | tr -c 'A-Za-z0-9.\n' '-' | tr -d '\n')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nvcf-plugins/cargo-target/$rustc_key}"
