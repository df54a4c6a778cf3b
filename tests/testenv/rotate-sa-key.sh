#!/usr/bin/env bash
# Restarts a running environment's kube-apiserver (and controller-manager, which signs
# legacy token Secrets with the same key) with a NEW service-account signing key, so its
# JWKS serves a new kid.
#
# Usage: rotate-sa-key.sh NAME [--dir DIR] [--keep-old]
#   --keep-old: keep accepting (and publishing) the previous public key, as a careful
#   operator would during a rotation; without it old tokens stop verifying at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$testenv_here/pki.sh"

parse_common_args "$@"
keep_old=false
for a in "${ARGS[@]+"${ARGS[@]}"}"; do
  case "$a" in
    --keep-old) keep_old=true ;;
    *) die "unknown option $a" ;;
  esac
done
[[ -f "$DIR/ports.env" ]] && running apiserver || die "environment $NAME is not running ($DIR)"
# shellcheck source=/dev/null
source "$DIR/ports.env"

started=$SECONDS
p="$DIR/pki"
cp "$p/sa-verify.pub" "$p/sa-verify.pub.old"
gen_sa_key "$p"
if $keep_old; then
  cat "$p/sa.pub" "$p/sa-verify.pub.old" >"$p/sa-verify.pub"
else
  cp "$p/sa.pub" "$p/sa-verify.pub"
fi
rm -f "$p/sa-verify.pub.old"

terminate controller-manager
terminate apiserver 20
start_apiserver
start_controller_manager
log "environment $NAME restarted with a new service-account key in $((SECONDS - started))s"
