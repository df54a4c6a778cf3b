#!/usr/bin/env bash
# Faults on a running test environment, for the proof-under-faults tests:
#   fault.sh apiserver-restart SECONDS NAME [--dir DIR]
#       stop kube-apiserver, keep it down SECONDS, start it again (same ports, same etcd)
#   fault.sh apiserver-pause SECONDS NAME [--dir DIR]
#       freeze kube-apiserver (SIGSTOP) for SECONDS: connections hang, nothing answers
#   fault.sh etcd-pause SECONDS NAME [--dir DIR]
#       freeze etcd for SECONDS: the API server is up but cannot read or write
# Prints nothing on success; the other components reconnect on their own.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 3)) || die "usage: $(basename "$0") apiserver-restart|apiserver-pause|etcd-pause SECONDS NAME [--dir DIR]"
kind="$1" seconds="$2"
shift 2
[[ "$seconds" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SECONDS must be a number, got $seconds"
parse_common_args "$@"
[[ -f "$DIR/ports.env" ]] && running apiserver || die "environment $NAME is not running ($DIR)"
# shellcheck source=/dev/null
source "$DIR/ports.env"

pause() {
  local pid
  pid="$(<"$DIR/pids/$1.pid")"
  kill -STOP "$pid"
  # Resumed whatever happens to this script, so a failed test cannot leave it frozen.
  trap 'kill -CONT '"$pid"' 2>/dev/null || true' EXIT
  sleep "$seconds"
  kill -CONT "$pid"
}

case "$kind" in
  apiserver-restart)
    terminate apiserver 20
    sleep "$seconds"
    start_apiserver
    ;;
  apiserver-pause) pause apiserver ;;
  etcd-pause) pause etcd ;;
  *) die "unknown fault $kind" ;;
esac
log "fault $kind ($seconds s) on $NAME done"
