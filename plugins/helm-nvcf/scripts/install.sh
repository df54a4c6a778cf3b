#!/bin/sh
# helm runs this after `helm plugin install`/`update`. A release archive already carries
# bin/helm-nvcf; a plugin installed from a source checkout links the binary cargo built.
set -eu
dir=$(cd -P "${HELM_PLUGIN_DIR:?helm sets HELM_PLUGIN_DIR}" && pwd)
bin="$dir/bin/helm-nvcf"
if [ -x "$bin" ] && "$bin" version -o name >/dev/null 2>&1; then
  exit 0
fi
# A release tarball carries one binary per platform; plugin.yaml picks it by os and arch.
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
if ls "$dir"/bin/helm-nvcf-* >/dev/null 2>&1; then
  if [ -x "$dir/bin/helm-nvcf-$os-$arch" ] && "$dir/bin/helm-nvcf-$os-$arch" version -o name >/dev/null 2>&1; then
    exit 0
  fi
  echo "helm nvcf: this archive has no working binary for $os/$arch (it has: $(cd "$dir/bin" && echo helm-nvcf-*))" >&2
  exit 1
fi
repo=$(cd "$dir/../.." && pwd)
if [ -f "$repo/Cargo.toml" ] && [ -d "$repo/shared" ]; then
  target="${CARGO_TARGET_DIR:-$repo/target}"
  for profile in release debug; do
    if [ -x "$target/$profile/helm-nvcf" ]; then
      mkdir -p "$dir/bin"
      ln -sf "$target/$profile/helm-nvcf" "$bin"
      echo "helm nvcf: using $target/$profile/helm-nvcf"
      exit 0
    fi
  done
  if command -v cargo >/dev/null 2>&1; then
    echo "helm nvcf: building helm-nvcf with cargo (first install from source)"
    (cd "$repo" && cargo build --release -p helm-nvcf)
    mkdir -p "$dir/bin"
    ln -sf "$target/release/helm-nvcf" "$bin"
    exit 0
  fi
fi
echo "helm nvcf: no helm-nvcf binary in $dir/bin; install from a release archive, or build it with 'cargo build --release -p helm-nvcf' in a source checkout" >&2
exit 1
