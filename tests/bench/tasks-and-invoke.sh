#!/usr/bin/env bash
# NVCF API client benchmarks against nvcf-sim, each with its peer measured in the same run:
#  1. `kubectl nvcf task list` over 10,000 tasks: time to the first row and to the end,
#     against curl following the same cursors page by page; and our own CPU per listed task
#     as a table and as -o json;
#  2. `kubectl nvcf function invoke` against one curl POST to the same invocation endpoint.
# Reports numbers and ratios; asserts nothing.
#   tests/bench/tasks-and-invoke.sh                 (release build)
#   PROFILE=debug TASKS=2000 tests/bench/tasks-and-invoke.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
profile="${PROFILE:-release}"
tasks="${TASKS:-10000}"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build "${flag[@]}" -p kubectl-nvcf -p nvcf-sim --bin kubectl-nvcf --bin nvcf-sim >&2
bin="${CARGO_TARGET_DIR:-$root/target}/$profile"
work="$(mktemp -d)"
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# Tasks stay QUEUED for the whole run, so every listing sees the same world.
echo '{"taskQueueDuration": 86400000, "deployDuration": 100, "requestLogCapacity": 100}' >"$work/sim.json"
"$bin/nvcf-sim" --port 0 --config "$work/sim.json" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do grep -q '^export NVCF_SIM_URL' "$work/sim.out" && break; sleep 0.1; done
eval "$(grep '^export ' "$work/sim.out")"
export HOME="$work" XDG_CONFIG_HOME="$work/.config" NVCF_PROFILE=bench CI=true
nvcf="$bin/kubectl-nvcf"
"$nvcf" init >/dev/null
"$nvcf" api-key generate >/dev/null
state="$work/.config/nvcf/profiles/bench/state.json"
task_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nvctApiKey"])' "$state")
fn_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"])' "$state")
port="${NVCF_SIM_URL##*:}"

echo "creating $tasks tasks..." >&2
python3 - "$port" "$NVCT_HOST" "$task_key" "$tasks" <<'PY'
import http.client, json, sys
port, host, key, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Host": host, "Authorization": f"Bearer {key}", "Content-Type": "application/json"}
for i in range(n):
    body = {"name": f"bench-{i}", "containerImage": "nvcr.io/acme/job:1",
            "gpuSpecification": {"gpu": "A10G", "instanceType": "NCP.GPU.A10G_1x"},
            "resultHandlingStrategy": "NONE"}
    c.request("POST", "/v1/nvct/tasks", json.dumps(body), h)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY

echo "listing..." >&2
python3 - "$nvcf" "$port" "$NVCT_HOST" "$task_key" "$tasks" <<'PY'
import json, statistics, subprocess, sys, time
nvcf, port, host, key, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
page = 100
def ours():
    t0 = time.perf_counter()
    p = subprocess.Popen([nvcf, "task", "list", "--page-size", str(page)], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()                      # header
    p.stdout.readline()                      # first row
    first = time.perf_counter() - t0
    rows = 1 + sum(1 for _ in p.stdout)
    p.wait()
    assert p.returncode == 0 and rows == n, (p.returncode, rows)
    return first, time.perf_counter() - t0
def curl():
    t0, cursor, rows, first = time.perf_counter(), None, 0, None
    while True:
        url = f"http://127.0.0.1:{port}/v1/nvct/tasks?limit={page}" + (f"&cursor={cursor}" if cursor else "")
        out = subprocess.run(["curl", "-sf", url, "-H", f"Host: {host}", "-H", f"Authorization: Bearer {key}"],
                             capture_output=True, check=True).stdout
        body = json.loads(out)
        rows += len(body["tasks"])
        if first is None and rows:
            first = time.perf_counter() - t0
        cursor = body.get("cursor")
        if not cursor:
            break
    assert rows == n, rows
    return first, time.perf_counter() - t0
runs = [(ours(), curl()) for _ in range(3)]
med = lambda xs: statistics.median(xs)
of, oe = med([r[0][0] for r in runs]), med([r[0][1] for r in runs])
cf, ce = med([r[1][0] for r in runs]), med([r[1][1] for r in runs])
print(f"task list, {n} tasks, pages of {page}: first row {of*1000:.1f} ms, end {oe*1000:.0f} ms")
print(f"  curl following the same cursors: first page {cf*1000:.1f} ms, end {ce*1000:.0f} ms")
print(f"  ratio to curl: first row {of/cf:.2f}x, end {oe/ce:.2f}x")

# Our own CPU per listed item (user + system of the kubectl-nvcf process, from rusage):
# the table and -o json, over the same tasks. Goal (issue 16): at most 10 us per item.
import resource
def cpu(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([nvcf, "task", "list", "--page-size", str(page)] + args,
                         stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
for name, args in [("table", []), ("-o json", ["-o", "json"])]:
    secs = med([cpu(args) for _ in range(5)])
    print(f"  our CPU, {name}: {secs*1000:.0f} ms = {secs/n*1e6:.1f} us per task (goal <= 10 us)")
PY

echo "invoking..." >&2
f=$("$nvcf" function create --name bench-echo --image nvcr.io/acme/echo:1 --inference-url /echo -o json 2>/dev/null)
fid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$f")
vid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["versionId"])' "$f")
"$nvcf" function deploy create --gpu A10G --instance-type NCP.GPU.A10G_1x --poll-interval 1 >/dev/null 2>&1
out="$work/invoke.json"
hyperfine -N --warmup 3 --runs 40 --export-json "$out" \
  -n curl "curl -sf -X POST http://127.0.0.1:$port/echo -H 'Host: $fid.$INVOKE_HOST' -H 'Authorization: Bearer $fn_key' -H 'Content-Type: application/json' -d '{\"message\":\"hi\"}'" \
  -n 'kubectl nvcf function invoke' "$nvcf function invoke --function-id $fid --version-id $vid --request-body '{\"message\":\"hi\"}'" >&2
python3 - "$out" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
c, k = r["curl"]["median"], r["kubectl nvcf function invoke"]["median"]
print(f"function invoke: median {k*1000:.2f} ms vs curl {c*1000:.2f} ms = {k/c:.2f}x "
      f"(+{(k-c)*1000:.2f} ms; ours also looks the function up first, as upstream does)")
PY
