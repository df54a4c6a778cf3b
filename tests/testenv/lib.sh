# Shared by start.sh, stop.sh and rotate-sa-key.sh; sourced, not executed.
# shellcheck shell=bash

testenv_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[testenv %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Parses NAME and the common options; sets NAME, DIR and leaves the rest in ARGS.
parse_common_args() {
  NAME="" DIR="" ARGS=()
  while (($#)); do
    case "$1" in
      --dir) DIR="$2"; shift 2 ;;
      --dir=*) DIR="${1#--dir=}"; shift ;;
      -*) ARGS+=("$1"); shift ;;
      *) [[ -z "$NAME" ]] || die "unexpected argument $1"; NAME="$1"; shift ;;
    esac
  done
  [[ "$NAME" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die "usage: $(basename "$0") NAME [--dir DIR] (NAME: letters, digits, . _ -)"
  DIR="${DIR:-${NVCF_TESTENV_ROOT:-${TMPDIR:-/tmp}/nvcf-testenv}/$NAME}"
}

# Starts a component detached in its own session so a test runner's signals do not
# reach it; stop.sh finds it again through the pid file. Lock descriptors stay behind.
spawn() {
  local name="$1"; shift
  setsid "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 8>&- 9>&- &
  echo $! >"$DIR/pids/$name.pid"
}

# kill -0 also succeeds on a zombie, and some init processes (containers) reap slowly.
alive() {
  if [[ -r "/proc/$1/stat" ]]; then
    local stat
    stat="$(<"/proc/$1/stat")" 2>/dev/null || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

# Stops one component: TERM, then KILL after a grace period (tenths of a second).
# kube-apiserver stops serving at once on TERM but then can linger for many seconds; its
# state is all in etcd, so it gets a short grace.
terminate() {
  local pidfile="$DIR/pids/$1.pid" grace="${2:-100}" pid i
  [[ -f "$pidfile" ]] || return 0
  pid="$(<"$pidfile")"
  if [[ "$pid" != "$$" ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

running() {
  local pidfile="$DIR/pids/$1.pid"
  [[ -f "$pidfile" ]] && alive "$(<"$pidfile")"
}

# Waits until CMD succeeds, failing with the component's log tail after TIMEOUT seconds.
wait_for() {
  local what="$1" timeout="$2" component="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || { [[ -n "$component" ]] && ! running "$component"; }; then
      log "timed out waiting for $what; last lines of $component.log:"
      tail -n 20 "$DIR/logs/${component:-apiserver}.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

kctl() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" --request-timeout=5s "$@"; }

start_apiserver() {
  local p="$DIR/pki"
  spawn apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" \
    --service-cluster-ip-range=10.96.0.0/12 \
    --endpoint-reconciler-type=none \
    --authorization-mode=RBAC --anonymous-auth=true \
    --allow-privileged=true \
    --service-account-issuer="https://127.0.0.1:$API_PORT" \
    --service-account-key-file="$p/sa-verify.pub" \
    --service-account-signing-key-file="$p/sa.key" \
    --audit-policy-file="$testenv_here/config/audit-policy.yaml" \
    --audit-log-path="$DIR/audit.log" --audit-log-format=json \
    --profiling=false --v=1
  # Listening first: start.sh holds the port lock only until the port is taken.
  wait_for "kube-apiserver to listen" 60 apiserver bash -c "exec 3<>/dev/tcp/127.0.0.1/$API_PORT"
  if [[ -n "${PORT_LOCK_FD:-}" ]]; then flock -u "$PORT_LOCK_FD"; fi
  wait_for "kube-apiserver /readyz" 60 apiserver kctl get --raw /readyz
}

start_controller_manager() {
  local p="$DIR/pki"
  spawn controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$DIR/controller-manager.kubeconfig" \
    --secure-port=0 --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$p/sa.key" \
    --root-ca-file="$p/ca.crt" \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
    --allocate-node-cidrs=false \
    --profiling=false --v=1
}
