#!/usr/bin/env bash
# Starts one test environment: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and KWOK with fake CPU and GPU nodes, all on 127.0.0.1 on free ports.
#
# Usage: start.sh NAME [--dir DIR] [--owner-pid PID]
#   DIR defaults to ${NVCF_TESTENV_ROOT:-${TMPDIR:-/tmp}/nvcf-testenv}/NAME.
#   --owner-pid: stop the environment by itself once process PID exits (test harnesses).
# On success prints KEY=VALUE lines (KUBECONFIG, NVCF_TESTENV_DIR, ...) on stdout.
# Starting a NAME that is already running prints the same lines and changes nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$testenv_here/pki.sh"

parse_common_args "$@"
owner_pid=""
for a in "${ARGS[@]+"${ARGS[@]}"}"; do
  case "$a" in
    --owner-pid=*) owner_pid="${a#--owner-pid=}" ;;
    *) die "unknown option $a" ;;
  esac
done

print_env() {
  # shellcheck source=/dev/null
  source "$DIR/ports.env"
  cat <<EOF
NVCF_TESTENV_NAME=$NAME
NVCF_TESTENV_DIR=$DIR
KUBECONFIG=$DIR/kubeconfig
NVCF_TESTENV_SERVER=https://127.0.0.1:$API_PORT
NVCF_TESTENV_AUDIT_LOG=$DIR/audit.log
NVCF_TESTENV_BIN=$BIN
NVCF_TESTENV_KUBECTL=$KUBECTL
EOF
}

if [[ -f "$DIR/ports.env" ]] && running apiserver; then
  print_env
  exit 0
fi

started=$SECONDS
BIN="$("$testenv_here/build.sh")"
KUBECTL="$("$testenv_here/../tools/install-clients.sh")/kubectl"

if [[ -e "$DIR" ]]; then
  if [[ -f "$DIR/.nvcf-testenv" ]]; then
    "$testenv_here/stop.sh" "$NAME" --dir "$DIR" --keep
  elif [[ -n "$(ls -A "$DIR")" ]]; then
    die "$DIR exists and is not a testenv directory"
  fi
  rm -rf "$DIR"
fi
mkdir -p "$DIR"/{logs,pids,etcd}
touch "$DIR/.nvcf-testenv"
# A half-started environment must not leave processes behind; its logs stay for a look.
trap 'rc=$?; if ((rc != 0)); then log "start failed; logs kept in $DIR/logs"; "$testenv_here/stop.sh" "$NAME" --dir "$DIR" --keep; fi' EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
picked=" "
pick_port() {
  local p i
  for ((i = 0; i < 500; i++)); do
    # Below the kernel's ephemeral range, so outgoing connections never hold these.
    p=$((20000 + RANDOM % 12000))
    [[ "$picked" == *" $p "* ]] && continue
    grep -qs "=$p\$" "$(dirname "$DIR")"/*/ports.env && continue
    port_free "$p" || continue
    picked+="$p "
    echo "$p"
    return 0
  done
  die "no free port found"
}

# Two environments starting at once must not pick the same ports; hold the lock until
# the listeners are up.
exec 8>"${TMPDIR:-/tmp}/nvcf-testenv.ports.lock"
flock 8
PORT_LOCK_FD=8
ETCD_PORT="$(pick_port)"; picked+="$ETCD_PORT "
ETCD_PEER_PORT="$(pick_port)"; picked+="$ETCD_PEER_PORT "
API_PORT="$(pick_port)"
cat >"$DIR/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
API_PORT=$API_PORT
BIN=$BIN
KUBECTL=$KUBECTL
EOF

gen_pki "$DIR/pki" "$NAME"
cp "$DIR/pki/sa.pub" "$DIR/pki/sa-verify.pub"
server="https://127.0.0.1:$API_PORT"
write_kubeconfig "$DIR/kubeconfig" admin "$server" "$DIR/pki"
for c in controller-manager scheduler kwok; do
  write_kubeconfig "$DIR/$c.kubeconfig" "$c" "$server" "$DIR/pki"
done

spawn etcd "$BIN/etcd" --data-dir="$DIR/etcd" \
  --listen-client-url="http://127.0.0.1:$ETCD_PORT" --listen-peer-url="http://127.0.0.1:$ETCD_PEER_PORT"
wait_for "etcd" 30 etcd bash -c "exec 3<>/dev/tcp/127.0.0.1/$ETCD_PORT"
start_apiserver

kctl apply -f "$testenv_here/config/bootstrap.yaml" >/dev/null
start_controller_manager
spawn scheduler "$BIN/kube-scheduler" --kubeconfig="$DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$DIR/scheduler.kubeconfig" --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
  --secure-port=0 --leader-elect=false --profiling=false --v=1
spawn kwok "$BIN/kwok" --kubeconfig="$DIR/kwok.kubeconfig" --config="$BIN/../share/kwok-stages.yaml" \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1
kctl create -f "$testenv_here/config/nodes.yaml" >/dev/null

wait_for "KWOK nodes Ready" 30 kwok kctl wait --for=condition=Ready node --all --timeout=2s
# The default ServiceAccount appearing proves the controller-manager is working.
wait_for "controller-manager (default ServiceAccount)" 30 controller-manager \
  kctl get serviceaccount default --namespace default
wait_for "scheduler" 30 scheduler true

if [[ -n "$owner_pid" ]]; then
  # A test binary can exit without running any cleanup (panic, abort, SIGKILL); this
  # watchdog makes sure its environment never outlives it.
  spawn watchdog bash -c 'source "$1"; while alive "$2"; do sleep 0.5; done; exec "$3" "$4" --dir "$5"' \
    watchdog "$testenv_here/lib.sh" "$owner_pid" "$testenv_here/stop.sh" "$NAME" "$DIR"
fi

log "environment $NAME ready in $((SECONDS - started))s (kubeconfig $DIR/kubeconfig)"
print_env
