#!/usr/bin/env bash
# Faults on a running test environment, for the proof-under-faults tests:
#   fault.sh apiserver-restart SECONDS NAME [--dir DIR]
#       stop kube-apiserver, keep it down SECONDS, start it again (same ports, same etcd)
#   fault.sh apiserver-pause SECONDS NAME [--dir DIR]
#       freeze kube-apiserver (SIGSTOP) for SECONDS: connections hang, nothing answers
#   fault.sh etcd-pause SECONDS NAME [--dir DIR]
#       freeze etcd for SECONDS: the API server is up but cannot read or write
#   fault.sh apf-throttle SECONDS NAME [--dir DIR]
#       API Priority and Fairness answers 429 to every request of the ServiceAccount
#       default/nvcf-throttled for SECONDS (a FlowSchema sends it to a priority level with
#       no seats), then lets it through again. Writes $DIR/throttled.kubeconfig for that
#       ServiceAccount and prints "throttling" once the API server rejects it.
#   fault.sh slow-proxy SECONDS NAME [--dir DIR] [--delay-ms=N]
#       a loopback proxy in front of kube-apiserver holds back every chunk of every
#       response by N ms (default 200) for SECONDS. Writes $DIR/slow.kubeconfig pointing
#       at it and prints "proxying" once it listens.
# The first three print nothing on success; the other components reconnect on their own.
# Every fault ends by itself after SECONDS, and on SIGTERM undoes itself at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 3)) || die "usage: $(basename "$0") apiserver-restart|apiserver-pause|etcd-pause|apf-throttle|slow-proxy SECONDS NAME [--dir DIR]"
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

# Waits SECONDS in a way a SIGTERM interrupts at once, so the EXIT trap undoes the fault.
hold() {
  trap 'exit 0' TERM INT
  sleep "$seconds" &
  wait $! || true
}

# The admin kubeconfig with a bearer TOKEN instead of the admin's client certificate.
token_kubeconfig() {
  local file="$1" token="$2" k
  cp "$DIR/kubeconfig" "$file.tmp"
  for k in client-certificate-data client-key-data; do
    "$KUBECTL" --kubeconfig "$file.tmp" config unset "users.admin.$k" >/dev/null
  done
  "$KUBECTL" --kubeconfig "$file.tmp" config set-credentials admin --token="$token" >/dev/null
  mv "$file.tmp" "$file"
}

apf_throttle() {
  # Outside system:masters, which APF exempts: a ServiceAccount bound to cluster-admin.
  kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: nvcf-throttled, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nvcf-throttled}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: nvcf-throttled, namespace: default}]
EOF
  local token hold_port holder=() i code=""
  token="$(kctl create token nvcf-throttled -n default --duration=1h)"
  token_kubeconfig "$DIR/throttled.kubeconfig" "$token"
  # A priority level with no seats still runs a request when none of its own is running,
  # so one request is kept running: a ConfigMap create held in admission by a webhook that
  # accepts the connection and never answers (ignored after its timeout).
  hold_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 - "$hold_port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
    held = held[-64:]
PY
  holder+=($!)
  trap 'kill ${holder[*]} 2>/dev/null || true
        kctl delete flowschema nvcf-throttled --ignore-not-found --wait=false >/dev/null 2>&1 || true
        kctl delete prioritylevelconfiguration nvcf-throttled --ignore-not-found --wait=false >/dev/null 2>&1 || true
        kctl delete validatingwebhookconfiguration nvcf-apf-hold --ignore-not-found --wait=false >/dev/null 2>&1 || true
        kctl delete namespace nvcf-apf-hold --ignore-not-found --wait=false >/dev/null 2>&1 || true' EXIT
  kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: nvcf-apf-hold, labels: {nvcf-apf-hold: "true"}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: nvcf-apf-hold}
webhooks:
- name: hold.nvcf-apf.testenv
  clientConfig:
    url: https://127.0.0.1:$hold_port/hold
    caBundle: $(base64 -w0 <"$DIR/pki/ca.crt")
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}]
  namespaceSelector: {matchLabels: {nvcf-apf-hold: "true"}}
  failurePolicy: Ignore
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 10
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: nvcf-throttled}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 0
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: nvcf-throttled}
spec:
  matchingPrecedence: 100
  priorityLevelConfiguration: {name: nvcf-throttled}
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: ServiceAccount, serviceAccount: {name: nvcf-throttled, namespace: default}}]
    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}]
    nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
EOF
  as_throttled() {
    curl -s -o /dev/null -w '%{http_code}' --cacert "$DIR/pki/ca.crt" \
      -H "Authorization: Bearer $token" "$@" "https://127.0.0.1:$API_PORT$path" || true
  }
  # Two holders a few seconds apart, so one is always in admission.
  for i in 0 1; do
    (
      sleep $((i * 4))
      while :; do
        code="$(path=/api/v1/namespaces/nvcf-apf-hold/configmaps as_throttled -X POST \
          -H 'Content-Type: application/json' -d '{"metadata":{"generateName":"hold-"}}')"
        # Turned away while the other holds the seat: try again soon, not in a tight loop.
        [[ "$code" == 201 ]] || sleep 0.2
      done
    ) &
    holder+=($!)
  done
  # The API server picks the configuration up within seconds: wait for a 429.
  for ((i = 0; i < 200; i++)); do
    code="$(path=/api as_throttled)"
    [[ "$code" == 429 ]] && break
    sleep 0.1
  done
  [[ "$code" == 429 ]] || die "API Priority and Fairness did not start rejecting (last answer $code)"
  echo throttling
  hold
  # The EXIT trap runs after this function returns, when `holder` (a local) is gone: a fault
  # that ends by its own time must stop its holders here, or they outlive it and keep the
  # caller's output pipe open.
  kill "${holder[@]}" 2>/dev/null || true
}

slow_proxy() {
  local delay_ms=200 port a
  for a in "${ARGS[@]}"; do
    case "$a" in
      --delay-ms=*) delay_ms="${a#--delay-ms=}" ;;
      *) die "unknown option $a" ;;
    esac
  done
  [[ "$delay_ms" =~ ^[0-9]+$ ]] || die "--delay-ms must be a whole number, got $delay_ms"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  sed "s#server: https://127.0.0.1:$API_PORT#server: https://127.0.0.1:$port#" "$DIR/kubeconfig" >"$DIR/slow.kubeconfig"
  # Bytes pass through untouched (TLS ends at kube-apiserver, whose certificate names
  # 127.0.0.1); only the answers are held back.
  python3 -u - "$port" "$API_PORT" "$delay_ms" "$seconds" <<'PY' &
import asyncio, sys
listen, upstream = int(sys.argv[1]), int(sys.argv[2])
delay, seconds = int(sys.argv[3]) / 1000, float(sys.argv[4])

async def pump(reader, writer, hold):
    try:
        while data := await reader.read(65536):
            if hold:
                await asyncio.sleep(hold)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()

async def serve(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, up_writer, 0), pump(up_reader, client_writer, delay))

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen)
    print("proxying", flush=True)
    async with server:
        await asyncio.sleep(seconds)

asyncio.run(main())
PY
  local proxy=$!
  trap 'kill '"$proxy"' 2>/dev/null || true' EXIT
  trap 'exit 0' TERM INT
  wait "$proxy" || true
}

case "$kind" in
  apf-throttle) apf_throttle ;;
  slow-proxy) slow_proxy ;;
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
