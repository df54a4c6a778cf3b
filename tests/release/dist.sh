#!/usr/bin/env bash
# Builds the release archives and generates the krew manifests from them.
#
#   tests/release/dist.sh [--out DIR] [--manifests DIR] [--base-url URL] [--bin-dir DIR]
#
#   --out        where archives and .sha256 files go (default: target/dist)
#   --manifests  where the krew manifests are written (default: krew-manifests)
#   --base-url   where the archives will be downloadable; each uri is BASE/vVERSION/ARCHIVE
#   --bin-dir    package binaries already built there (host platform) instead of building
#   --sign-key   gpg key (id, fingerprint or email; default $NVCF_SIGNING_KEY) that signs the
#                helm tarball: writes helm-nvcf-V.tgz.prov, which helm 4 verifies by default,
#                and the armored public key nvcf-plugins-signing-key.asc. gpg uses $GNUPGHOME.
#
# Per platform: kubectl-nvcf_vV_OS_ARCH.tar.gz and kubectl-nvca_vV_OS_ARCH.tar.gz (binary,
# its kubectl_complete-* helper, LICENSE; kubectl-nvcf's also carries nvcf-cli, upstream's
# command lines run by our plugins). One helm-nvcf-V.tgz holds every platform's
# helm-nvcf and a plugin.yaml that picks the right one. Archives are reproducible: fixed
# order, owners and mtimes, gzip without a timestamp.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/target/dist"
manifests="$root/krew-manifests"
base_url="https://github.com/nvcf-plugins/nvcf-plugins/releases/download"
bin_dir=""
sign_key="${NVCF_SIGNING_KEY:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --manifests) manifests="$2"; shift 2 ;;
    --base-url) base_url="${2%/}"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --sign-key) sign_key="$2"; shift 2 ;;
    *) echo "dist.sh: unknown option $1 (see the header of $0)" >&2; exit 64 ;;
  esac
done
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
[ -n "$version" ] || { echo "dist.sh: no version in [workspace.package]" >&2; exit 65; }
mkdir -p "$out" "$manifests"
host="$(rustc -vV | sed -n 's/^host: //p')"

# Rust target triple -> krew/helm os and arch.
platform_of() {
  case "$1" in
    x86_64-unknown-linux-*) echo "linux amd64" ;;
    aarch64-unknown-linux-*) echo "linux arm64" ;;
    x86_64-apple-darwin) echo "darwin amd64" ;;
    aarch64-apple-darwin) echo "darwin arm64" ;;
    *) return 1 ;;
  esac
}

# The host always; cross targets only when their std is installed (rustup cannot fetch here).
targets=("$host")
for t in $(rustup target list --installed 2>/dev/null); do
  [ "$t" != "$host" ] && platform_of "$t" >/dev/null && targets+=("$t")
done

tar_reproducibly() { # OUTPUT DIR ENTRIES...
  local output="$1" dir="$2"; shift 2
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf - "$@" | gzip -n -9 >"$output"
}

checksum() { (cd "$(dirname "$1")" && sha256sum "$(basename "$1")" >"$(basename "$1").sha256"); }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
helm_dir="$stage/helm"
mkdir -p "$helm_dir/bin" "$helm_dir/scripts"
platform_commands=""
declare -A sums
for target in "${targets[@]}"; do
  read -r os arch < <(platform_of "$target")
  if [ -n "$bin_dir" ]; then
    [ "$target" = "$host" ] || continue
    from="$bin_dir"
  else
    cargo build --release --locked --bins --target "$target" -p kubectl-nvcf -p kubectl-nvca -p helm-nvcf -p nvcf-cli >&2
    from="${CARGO_TARGET_DIR:-$root/target}/$target/release"
  fi
  for plugin in nvcf nvca; do
    dir="$stage/kubectl-$plugin-$os-$arch"
    mkdir -p "$dir"
    install -m 0755 "$from/kubectl-$plugin" "$from/kubectl_complete-$plugin" "$dir/"
    install -m 0644 LICENSE "$dir/"
    extra=()
    if [ "$plugin" = nvcf ]; then
      install -m 0755 "$from/nvcf-cli" "$dir/"
      extra=(nvcf-cli)
    fi
    archive="$out/kubectl-${plugin}_v${version}_${os}_${arch}.tar.gz"
    tar_reproducibly "$archive" "$dir" "kubectl-$plugin" "kubectl_complete-$plugin" LICENSE "${extra[@]}"
    checksum "$archive"
    sums["$plugin $os $arch"]="$(cut -d' ' -f1 "$archive.sha256")"
  done
  install -m 0755 "$from/helm-nvcf" "$helm_dir/bin/helm-nvcf-$os-$arch"
  platform_commands+="  - os: $os
    arch: $arch
    command: \$HELM_PLUGIN_DIR/bin/helm-nvcf-$os-$arch
"
done

# The helm plugin: the source plugin.yaml with one platformCommand entry per binary.
install -m 0755 plugins/helm-nvcf/scripts/install.sh "$helm_dir/scripts/install.sh"
install -m 0644 LICENSE "$helm_dir/LICENSE"
awk -v cmds="$platform_commands" '
  /^platformCommand:/ { print; printf "%s", cmds; skip = 1; next }
  skip && /^[^ #-]/ { skip = 0 }
  !skip { print }
' plugins/helm-nvcf/plugin.yaml >"$helm_dir/plugin.yaml"
# helm 3.17 wants plugin.yaml at the archive's root; helm 4 installing a local tarball wants
# it in a folder named after the file minus "-VERSION". helm's extractor accepts neither
# hard nor symbolic links, so the plugin is carried twice.
helm_archive="$out/helm-nvcf-${version}.tgz"
mkdir -p "$stage/helm-nested"
cp -a "$helm_dir" "$stage/helm-nested/helm-nvcf"
cp -a "$stage/helm-nested/helm-nvcf" "$helm_dir/helm-nvcf"
tar_reproducibly "$helm_archive" "$helm_dir" LICENSE bin plugin.yaml scripts helm-nvcf
checksum "$helm_archive"

# helm 4's provenance for a plugin tarball is a chart-style clearsigned message: the plugin
# metadata, a "..." separator, then the sha256 of the tarball by file name (helm
# internal/plugin/sign.go). helm verifies it against a legacy (non-keybox) keyring.
if [ -n "$sign_key" ]; then
  {
    grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$helm_dir/plugin.yaml"
    printf '...\nfiles:\n  %s: sha256:%s\n' "$(basename "$helm_archive")" \
      "$(sha256sum "$helm_archive" | cut -d' ' -f1)"
  } | gpg --batch --yes --local-user "$sign_key" --digest-algo SHA256 --clearsign \
    -o "$helm_archive.prov"
  gpg --batch --yes --armor --export "$sign_key" >"$out/nvcf-plugins-signing-key.asc"
else
  rm -f "$helm_archive.prov"
  echo "dist.sh: no --sign-key / NVCF_SIGNING_KEY: $(basename "$helm_archive") has no .prov;" \
    "helm 4 users need --verify=false" >&2
fi

# krew manifests, generated from the archives just written: never edit them by hand.
for plugin in nvcf nvca; do
  case "$plugin" in
    nvcf)
      short="Install, check, operate and tear down self-hosted NVIDIA Cloud Functions"
      description="Drives a self-hosted NVIDIA Cloud Functions (NVCF) stack from kubectl:
      pre-flight checks, install of the control and compute planes, status,
      per-cluster profiles, functions, tasks and API keys, and teardown with
      a plan mode first." ;;
    nvca)
      short="Operate the NVCA agent of self-hosted NVIDIA Cloud Functions"
      description="The NVCA agent side of a self-hosted NVIDIA Cloud Functions compute
      plane: cluster registration, JWKS rotation, status, doctor, ordered
      uninstall and stuck-resource cleanup." ;;
  esac
  manifest="$manifests/kubectl-$plugin.yaml"
  {
    echo "# Generated by tests/release/dist.sh from the release archives; do not edit."
    echo "# For krew-index, submit this file as plugins/$plugin.yaml."
    echo "apiVersion: krew.googlecontainertools.github.com/v1alpha2"
    echo "kind: Plugin"
    echo "metadata:"
    echo "  name: $plugin"
    echo "spec:"
    echo "  version: v$version"
    echo "  homepage: https://github.com/nvcf-plugins/nvcf-plugins"
    echo "  shortDescription: $short"
    echo "  description: |"
    echo "      $description"
    echo "  caveats: |"
    echo "    Shell completion through kubectl (kubectl $plugin <TAB>) needs the"
    echo "    kubectl_complete-$plugin helper on your PATH; krew does not link it:"
    echo "      ln -s \"\${KREW_ROOT:-\$HOME/.krew}/store/$plugin/v$version/kubectl_complete-$plugin\" \\"
    echo "        \"\${KREW_ROOT:-\$HOME/.krew}/bin/kubectl_complete-$plugin\""
    if [ "$plugin" = nvcf ]; then
      echo "    Scripts written for upstream's nvcf-cli run unchanged through the nvcf-cli"
      echo "    shipped here; krew does not link it either:"
      echo "      ln -s \"\${KREW_ROOT:-\$HOME/.krew}/store/$plugin/v$version/nvcf-cli\" \\"
      echo "        \"\${KREW_ROOT:-\$HOME/.krew}/bin/nvcf-cli\""
    fi
    echo "  platforms:"
    printf '%s\n' "${!sums[@]}" | grep "^$plugin " | sort | while read -r _ os arch; do
      echo "  - selector:"
      echo "      matchLabels:"
      echo "        os: $os"
      echo "        arch: $arch"
      echo "    uri: $base_url/v$version/kubectl-${plugin}_v${version}_${os}_${arch}.tar.gz"
      echo "    sha256: ${sums["$plugin $os $arch"]}"
      echo "    files:"
      echo "    - from: kubectl-$plugin"
      echo "      to: ."
      echo "    - from: kubectl_complete-$plugin"
      echo "      to: ."
      echo "    - from: LICENSE"
      echo "      to: ."
      if [ "$plugin" = nvcf ]; then
        echo "    - from: nvcf-cli"
        echo "      to: ."
      fi
      echo "    bin: kubectl-$plugin"
    done
  } >"$manifest"
done

# Man pages and completion scripts, generated by each binary from its own command model.
for b in kubectl-nvcf kubectl-nvca helm-nvcf; do
  "${bin_dir:-${CARGO_TARGET_DIR:-$root/target}/$host/release}/$b" __docs "$out/docs" >/dev/null
done

for f in "$out"/*.tar.gz "$out"/*.tgz; do
  printf '%s\t%s bytes\n' "$(basename "$f")" "$(stat -c %s "$f")" >&2
done
echo "$out"
