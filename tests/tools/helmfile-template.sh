#!/usr/bin/env bash
# Renders one of upstream's real helmfile stacks with upstream's real helmfile and helm,
# offline, and prints one line per rendered object. This is the reference our renderer
# must match for the same operator inputs.
#
# Usage:
#   helmfile-template.sh ENV_NAME [--stack self-managed|nvcf-compute-plane]
#       [--env-file FILE] [--secrets-file FILE] [--exclude RELEASE]... [--with-release]
#       [--keep-workdir]
#     compute plane only: [--registration-file FILE] [--cluster-name NAME] [--nca-id ID]
#
#   ENV_NAME          helmfile environment name (HELMFILE_ENV): the stack's
#                     environments/ENV_NAME.yaml and secrets/ENV_NAME-secrets.yaml.
#   --env-file        operator environment file copied to environments/ENV_NAME.yaml
#                     (global.helm.sources is then pointed at the local chart server).
#                     Default: a minimal environment (registry nvcr.io, repository
#                     acme/nvcf, imagePullSecrets [{name: nvcr-pull}]; self-managed also
#                     storageClass standard, domain nvcf.example.com, gateway API controller
#                     namespace envoy-gateway-system, shared and grpc gateway
#                     nvcf-gateway/nvcf-gateway).
#   --secrets-file    self-managed only: copied to secrets/ENV_NAME-secrets.yaml. Default:
#                     upstream's secrets/secrets.yaml.template with its placeholders
#                     replaced by a dummy base64 "$oauthtoken:<key>" credential.
#   --exclude NAME    also leave out release NAME (repeatable).
#   --with-release    append a sixth column: the release as NAMESPACE/NAME.
#   --as-installed    only what an install applies: objects without a helm hook, or with a
#                     pre-install or post-install hook (test and delete hooks are left out).
#   --repeat N        run the same `helmfile template` N more times, logging each wall
#                     time ("repeat I wall time: Ss") for benchmarks.
#   --keep-workdir    keep the temporary copy (its path is printed on stderr).
#   --registration-file, --cluster-name (default ncp-local), --nca-id (default
#                     nvcf-default): the compute plane's CLUSTER_NAME, NCA_ID and
#                     ${OUTPUT_DIR}/${CLUSTER_NAME}-register-values.yaml. The default
#                     registration file is the stack's
#                     testdata/registration/CLUSTER_NAME-register-values.yaml (ncp-local).
#
# Output (stdout), one line per rendered Kubernetes object, sorted (LC_ALL=C), five
# tab-separated columns:
#   apiVersion  kind  namespace  name  images
# - namespace: metadata.namespace if the manifest sets it, else the release namespace
#   (where helm installs it), or "-" for cluster-scoped kinds (fixed list below).
# - images: every image of containers, initContainers and ephemeralContainers found
#   anywhere in the object (pod templates of workloads, CronJobs, Pods, and custom
#   resources embedding pod specs), sorted and joined with ",", duplicates kept; "-" if none.
# Hooks and test pods are objects like any other (helm template renders them). The flags
# are upstream's `make template` ones (no --include-crds, no --skip-tests) plus
# --skip-deps; no vendored chart has a crds/ folder (their CRDs are templates).
# Progress, the rendered and skipped releases, the object count and the wall time of
# `helmfile template` go to stderr.
#
# How it works offline:
# - the charts are copied from upstream's charts/ with placeholder subcharts for the two
#   dependencies that are not vendored (tests/tools/placeholder-subcharts.sh), and the
#   stacks are copied (never modified in place); each stack copy gets a charts/ link so its
#   local `../charts/NAME` releases resolve as in upstream's repository;
# - `helmfile list` tells which releases are enabled and which chart and version each
#   wants. Every `nvcf/NAME` chart found in charts/ is packaged with the version the stack
#   pins (as upstream's release pipeline publishes it). Releases whose charts are not
#   available offline (third-party charts: kai-scheduler, grove, dynamo,
#   prometheus-operator-crds, opentelemetry-operator, victoria-metrics; and charts upstream
#   does not vendor, e.g. helm-nvcf-state-metrics) are left out with a helmfile selector
#   (`name!=A,name!=B`) and reported;
# - self-managed: the packages are served as an HTTP helm repository by `python3 -m
#   http.server` on 127.0.0.1 and the environment sets global.helm.sources.url to it
#   (upstream's documented "Option A"); the repository is added with `helm repo add`
#   because helmfile runs with --skip-deps (no repo sync, no dependency build, so it
#   never reaches the internet);
# - nvcf-compute-plane: its helmfile only knows an OCI repository
#   (global.helm.sources.registry/repository), so the packages are pushed to the CNCF
#   distribution registry (tests/testenv/build-registry.sh) on 127.0.0.1. No TLS and no
#   --plain-http flag are needed: helm 3 speaks plain HTTP to a loopback registry by itself
#   (it treats localhost/127.0.0.1 as an insecure registry, like docker);
# - helm is helm 3 from tests/tools/install-clients.sh (--helm-binary), helmfile is built by
#   tests/tools/install-helmfile.sh. helm's and helmfile's config and caches live in the
#   temporary directory. `helmfile template` needs no helm plugin (helm-diff is only for
#   diff/apply);
# - upstream quirk: the self-managed stack pulls in ../../observability/helmfile.d, which
#   loads its own environments/ENV_NAME.yaml and fails when it is missing; the copy gets
#   an empty one (the parent passes it the global and observability values).
# Checked: with the compute plane's testdata/environments/local.yaml, --cluster-name
# ncp-local --nca-id ncp-local, the nvca-operator and topology releases render
# byte-identical to upstream's testdata/golden/local (its third-party releases are skipped).
set -euo pipefail
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
upstream="${NVCF_UPSTREAM_DIR:-$here/../../../shared/upstream}"

log() { printf '[helmfile-template %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n '/^# Usage:/,/^# Output/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

env_name=""
stack="self-managed"
env_file=""
secrets_file=""
registration_file=""
cluster_name="ncp-local"
nca_id="nvcf-default"
with_release=0
as_installed=0
repeat=0
keep=0
excludes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack) stack="${2:?--stack needs a value}"; shift 2 ;;
    --env-file) env_file="${2:?--env-file needs a value}"; shift 2 ;;
    --secrets-file) secrets_file="${2:?--secrets-file needs a value}"; shift 2 ;;
    --exclude) excludes+=("${2:?--exclude needs a value}"); shift 2 ;;
    --registration-file) registration_file="${2:?--registration-file needs a value}"; shift 2 ;;
    --cluster-name) cluster_name="${2:?--cluster-name needs a value}"; shift 2 ;;
    --nca-id) nca_id="${2:?--nca-id needs a value}"; shift 2 ;;
    --with-release) with_release=1; shift ;;
    --as-installed) as_installed=1; shift ;;
    --repeat) repeat="$2"; shift 2 ;;
    --keep-workdir) keep=1; shift ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) [[ -z "$env_name" ]] || { log "unexpected argument $1"; usage; }; env_name="$1"; shift ;;
  esac
done
[[ -n "$env_name" ]] || usage
[[ "$env_name" =~ ^[A-Za-z0-9._-]+$ ]] || die "ENV_NAME must be a plain file name"
[[ "$env_name" != base ]] || die "ENV_NAME base would replace the stack's environments/base.yaml"
case "$stack" in
  self-managed | nvcf-compute-plane) ;;
  *) die "--stack must be self-managed or nvcf-compute-plane" ;;
esac
[[ -d "$upstream/stacks/$stack" && -d "$upstream/charts" ]] ||
  die "upstream stacks/charts not found under $upstream (set NVCF_UPSTREAM_DIR)"
for f in "$env_file" "$secrets_file" "$registration_file"; do
  [[ -z "$f" || -f "$f" ]] || die "no such file: $f"
done
python3 -c 'import yaml' 2>/dev/null ||
  die "need python3 with PyYAML"

tools_bin="$("$here/install-clients.sh")"
helm="$tools_bin/helm3"
helmfile="$("$here/install-helmfile.sh")"

work="$(mktemp -d "${TMPDIR:-/tmp}/helmfile-template.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $keep -eq 1 ]]; then
    log "kept work directory $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Isolated helm and helmfile state: nothing from ~/.config/helm or ~/.cache/helmfile leaks
# in (a cached OCI chart would otherwise be reused), nothing leaks out.
export HELM_CONFIG_HOME="$work/helm/config" HELM_CACHE_HOME="$work/helm/cache"
export HELM_DATA_HOME="$work/helm/data"
export HELMFILE_CACHE_HOME="$work/helmfile-cache" HELMFILE_TEMPDIR="$work/tmp"
export HELMFILE_UPGRADE_NOTICE_DISABLED=1
mkdir -p "$HELM_CONFIG_HOME" "$HELM_CACHE_HOME" "$HELM_DATA_HOME" "$HELMFILE_CACHE_HOME" "$HELMFILE_TEMPDIR"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_listening() { # PORT
  local i
  for ((i = 0; i < 200; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- charts and stack copies -------------------------------------------------------------
"$here/placeholder-subcharts.sh" "$upstream/charts" "$work/charts" >/dev/null
cp -r "$upstream/stacks" "$work/stacks"
chmod -R u+w "$work/stacks"
for dir in "$work"/stacks/*/; do
  [[ -e "$dir/charts" ]] || ln -s ../../charts "$dir/charts"
done
stack_dir="$work/stacks/$stack"
mkdir -p "$work/repo" "$work/out"

# --- chart source: HTTP repository (self-managed) or OCI registry (compute plane) --------
port="$(free_port)"
if [[ "$stack" == self-managed ]]; then
  repo_url="http://127.0.0.1:$port"
  python3 -m http.server --bind 127.0.0.1 --directory "$work/repo" "$port" \
    >"$work/http-server.log" 2>&1 &
  server_pid=$!
  wait_listening "$port" || die "the chart repository server did not start (see $work/http-server.log)"
  log "serving charts at $repo_url"
else
  registry="$("$here/../testenv/build-registry.sh")"
  cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem:
    rootdirectory: $work/registry-data
http:
  addr: 127.0.0.1:$port
EOF
  "$registry" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  server_pid=$!
  wait_listening "$port" || die "the OCI registry did not start (see $work/registry.log)"
  oci_registry="127.0.0.1:$port"
  oci_repository="acme/nvcf"
  log "serving charts at oci://$oci_registry/$oci_repository"
fi

# --- environment, secrets and compute-plane inputs ---------------------------------------
env_path="$stack_dir/environments/$env_name.yaml"
if [[ -n "$env_file" ]]; then
  cp "$env_file" "$env_path"
elif [[ "$stack" == self-managed ]]; then
  cat >"$env_path" <<'EOF'
# Minimal operator environment written by tests/tools/helmfile-template.sh.
global:
  domain: nvcf.example.com
  helm:
    sources:
      registry: nvcr.io
      repository: acme/nvcf
  image:
    registry: nvcr.io
    repository: acme/nvcf
  imagePullSecrets:
    - name: nvcr-pull
  storageClass: standard
ingress:
  gatewayApi:
    controllerNamespace: envoy-gateway-system
    gateways:
      shared:
        name: nvcf-gateway
        namespace: nvcf-gateway
      grpc:
        name: nvcf-gateway
        namespace: nvcf-gateway
EOF
else
  cat >"$env_path" <<'EOF'
# Minimal operator environment written by tests/tools/helmfile-template.sh.
global:
  helm:
    sources:
      registry: nvcr.io
      repository: acme/nvcf
  image:
    registry: nvcr.io
    repository: acme/nvcf
  imagePullSecrets:
    - name: nvcr-pull
EOF
fi
# Point the chart source at the local server. global.helm.sources only selects the helm
# repository in upstream's stacks; no chart value reads it.
python3 - "$env_path" "$stack" "${repo_url:-}" "${oci_registry:-}" "${oci_repository:-}" <<'PY'
import sys, yaml
path, stack, url, registry, repository = sys.argv[1:]
with open(path) as f:
    env = yaml.safe_load(f) or {}
sources = env.setdefault("global", {}).setdefault("helm", {}).setdefault("sources", {})
if stack == "self-managed":
    sources["url"] = url
    sources.pop("username", None)
    sources.pop("password", None)
else:
    sources["registry"] = registry
    sources["repository"] = repository
with open(path, "w") as f:
    yaml.safe_dump(env, f, sort_keys=False)
PY
# The observability sub-stack loads its own environments/ENV_NAME.yaml; the parent stack
# passes it global and observability values, so it only has to exist.
obs_env="$work/stacks/observability/environments/$env_name.yaml"
[[ -e "$obs_env" ]] || printf '{}\n' >"$obs_env"

if [[ "$stack" == self-managed ]]; then
  secrets_path="$stack_dir/secrets/$env_name-secrets.yaml"
  if [[ -n "$secrets_file" ]]; then
    cp "$secrets_file" "$secrets_path"
  else
    # Raw docker auth string: base64 of "$oauthtoken:<key>" (see the template's notes).
    # shellcheck disable=SC2016 # $oauthtoken is the literal NGC user name
    credential="$(printf '%s:%s' '$oauthtoken' 'dummy-ngc-api-key' | base64 -w0)"
    sed "s|REPLACE_WITH_BASE64_DOCKER_CREDENTIAL|$credential|g" \
      "$stack_dir/secrets/secrets.yaml.template" >"$secrets_path"
  fi
else
  [[ -z "$secrets_file" ]] || die "--secrets-file applies to the self-managed stack only"
  export CLUSTER_NAME="$cluster_name" NCA_ID="$nca_id" OUTPUT_DIR="$work/compute-out"
  mkdir -p "$OUTPUT_DIR"
  if [[ -z "$registration_file" ]]; then
    registration_file="$stack_dir/testdata/registration/$cluster_name-register-values.yaml"
    [[ -f "$registration_file" ]] ||
      die "no registration values for cluster $cluster_name: pass --registration-file"
  fi
  cp "$registration_file" "$OUTPUT_DIR/$cluster_name-register-values.yaml"
fi
export HELMFILE_ENV="$env_name"

hf() { (cd "$stack_dir" && "$helmfile" --environment default --helm-binary "$helm" "$@"); }

# --- which releases render, and which charts to publish ----------------------------------
log "listing releases"
hf list --skip-charts --output json >"$work/releases.json" 2>"$work/list.log" ||
  { cat "$work/list.log" >&2; die "helmfile list failed"; }
excludes_csv="$(IFS=,; echo "${excludes[*]:-}")"
python3 - "$work/releases.json" "$work/charts" "$excludes_csv" >"$work/plan.tsv" <<'PY'
import json, os, sys
releases_file, charts, excludes = sys.argv[1], sys.argv[2], sys.argv[3]
excludes = {e for e in excludes.split(",") if e}
for r in json.load(open(releases_file)):
    name, ns, chart = r["name"], r.get("namespace", ""), r.get("chart", "")
    version = r.get("version", "")
    enabled = r.get("enabled", True) and r.get("installed", True)
    if not enabled:
        action, reason = "disabled", "condition/installed is false"
    elif name in excludes:
        action, reason = "skip", "excluded with --exclude"
    elif chart.startswith(("./", "../", "/")):
        action, reason = "render", "local chart"
    elif chart.startswith("nvcf/") and os.path.isfile(os.path.join(charts, chart[5:], "Chart.yaml")):
        action, reason = "render", "packaged from upstream charts/"
    elif chart.startswith("nvcf/"):
        action, reason = "skip", "no such chart in upstream charts/ (third-party mirror or not vendored), not available offline"
    else:
        action, reason = "skip", f"third-party repository {chart.split('/')[0]}, not available offline"
    print("\t".join([action, ns, name, chart, version or "-", reason]))
PY

skip_names=()
while IFS=$'\t' read -r action ns name chart version reason; do
  case "$action" in
    render) log "release $ns/$name: render ($chart ${version/#-/(chart version)}; $reason)" ;;
    skip) log "release $ns/$name: SKIPPED ($chart $version: $reason)"; skip_names+=("$name") ;;
    disabled) log "release $ns/$name: not rendered by the stack ($reason)" ;;
  esac
done <"$work/plan.tsv"
while IFS=$'\t' read -r action ns name _; do
  [[ "$action" == render ]] || continue
  for s in "${skip_names[@]}"; do
    [[ "$s" != "$name" ]] || die "cannot skip $s by name: release $ns/$name of the same name renders"
  done
done <"$work/plan.tsv"

# Package every nvcf/ chart at the version the stack pins.
declare -A packaged=()
while IFS=$'\t' read -r action _ _ chart version _; do
  [[ "$action" == render && "$chart" == nvcf/* ]] || continue
  key="$chart@$version"
  [[ -z "${packaged[$key]:-}" ]] || continue
  args=("$work/charts/${chart#nvcf/}" --destination "$work/repo")
  [[ "$version" == - ]] || args+=(--version "$version")
  "$helm" package "${args[@]}" >/dev/null
  packaged[$key]=1
done <"$work/plan.tsv"
log "packaged ${#packaged[@]} charts"
if [[ "$stack" == self-managed ]]; then
  "$helm" repo index "$work/repo" --url "$repo_url"
  "$helm" repo add nvcf "$repo_url" >/dev/null
else
  for package in "$work"/repo/*.tgz; do
    "$helm" push "$package" "oci://$oci_registry/$oci_repository" >/dev/null 2>>"$work/push.log" ||
      { cat "$work/push.log" >&2; die "helm push $package failed"; }
  done
fi

# --- helmfile template -------------------------------------------------------------------
selector=()
if [[ ${#skip_names[@]} -gt 0 ]]; then
  selector=(--selector "$(printf 'name!=%s,' "${skip_names[@]}" | sed 's/,$//')")
fi
log "helmfile template${selector[*]:+ ${selector[*]}}"
TIMEFORMAT='%3R'
{ time hf "${selector[@]}" template --skip-deps --output-dir "$work/out" \
  --output-dir-template '{{ .OutputDir }}/{{ .Release.Namespace }}/{{ .Release.Name }}' \
  >"$work/template.log" 2>&1; } 2>"$work/time" ||
  { cat "$work/template.log" >&2; die "helmfile template failed"; }
wall="$(tail -n1 "$work/time")"
# Benchmarks: the same `helmfile template` again, each wall time on its own stderr line.
for ((i = 1; i <= repeat; i++)); do
  rm -rf "$work/out.again"
  { time hf "${selector[@]}" template --skip-deps --output-dir "$work/out.again" \
    --output-dir-template '{{ .OutputDir }}/{{ .Release.Namespace }}/{{ .Release.Name }}' \
    >/dev/null 2>&1; } 2>"$work/time.again"
  log "repeat $i wall time: $(tail -n1 "$work/time.again")s"
done

# --- one line per object -----------------------------------------------------------------
python3 - "$work/out" "$with_release" "$as_installed" <<'PY' | LC_ALL=C sort >"$work/objects.tsv"
import os, sys, yaml

out, with_release, as_installed = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"

def installed(doc):
    """What an install applies: no hook, or a pre-/post-install hook (not test, delete, ...)."""
    hooks = ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook")
    if not hooks:
        return True
    events = {h.strip() for h in str(hooks).split(",")}
    return bool(events & {"pre-install", "post-install"})
# Kinds installed cluster-wide (no namespace).
CLUSTER_SCOPED = {
    "APIService", "CertificateSigningRequest", "ClusterIssuer", "ClusterRole",
    "ClusterRoleBinding", "ClusterTopology", "ComponentStatus", "CSIDriver", "CSINode",
    "CustomResourceDefinition", "FlowSchema", "GatewayClass", "IngressClass",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
    "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "Queue",
    "RuntimeClass", "SecurityContextConstraints", "StorageClass", "Topology",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration", "VolumeAttachment",
}

def images(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                for c in value:
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        found.append(c["image"])
            images(value, found)
    elif isinstance(node, list):
        for item in node:
            images(item, found)
    return found

for ns in sorted(os.listdir(out)):
    for release in sorted(os.listdir(os.path.join(out, ns))):
        root = os.path.join(out, ns, release)
        for dirpath, _, files in os.walk(root):
            for f in sorted(files):
                if not f.endswith((".yaml", ".yml")):
                    continue
                with open(os.path.join(dirpath, f)) as fh:
                    for doc in yaml.safe_load_all(fh):
                        if not isinstance(doc, dict) or "kind" not in doc:
                            continue
                        if as_installed and not installed(doc):
                            continue
                        meta = doc.get("metadata") or {}
                        kind = doc["kind"]
                        namespace = meta.get("namespace") or ("-" if kind in CLUSTER_SCOPED else ns)
                        imgs = sorted(images(doc, []))
                        cols = [str(doc.get("apiVersion", "-")), kind, str(namespace),
                                str(meta.get("name", "-")), ",".join(imgs) or "-"]
                        if with_release:
                            cols.append(f"{ns}/{release}")
                        print("\t".join(cols))
PY
cat "$work/objects.tsv"

rendered="$(find "$work/out" -mindepth 2 -maxdepth 2 -type d -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')"
log "rendered releases: ${rendered% }"
[[ ${#skip_names[@]} -eq 0 ]] || log "skipped releases: ${skip_names[*]}"
log "objects: $(wc -l <"$work/objects.tsv")"
log "helmfile template wall time: ${wall}s"
