#!/usr/bin/env bash
# Copies upstream's chart directories and fills in the subcharts they declare but do not
# vendor, so the charts can be rendered, packaged and served offline.
#
# Two upstream wrapper charts depend on charts fetched from the internet at release time
# (see /work/shared/upstream/README.md): helm-nvcf-nats -> nats 1.3.15 (nats-io chart
# repository) and helm-nvcf-openbao-server -> openbao 0.28.3 (oci://ghcr.io/openbao/charts).
# For every chart whose Chart.yaml declares a dependency that its charts/ folder lacks, this
# writes OUT_DIR/<chart>/charts/<dep>/ carrying the dependency's real name and version.
#
# THE SUBCHARTS WRITTEN HERE ARE PLACEHOLDERS, NOT THE REAL CHARTS (which are not vendored
# and cannot be downloaded here). They render only the main objects of the real chart,
# named as the real chart names them, with container images built from the same values
# keys the wrapper charts and global.yaml.gotmpl set:
#   nats:    StatefulSet/Service/ConfigMap "<fullname>" (release "nats" -> "nats") with the
#            JetStream file store's "<fullname>-js" volumeClaimTemplate (config.jetstream),
#            nats + reloader containers (nats.container.image, nats.reloader.image),
#            headless Service, PodDisruptionBudget, nats-box Deployment
#            (nats.natsBox.container.image) and its contexts Secret.
#   openbao: StatefulSet "openbao-server" (openbao.fullnameOverride) with the openbao
#            container (openbao.server.image) plus server.extraContainers (passed through
#            tpl, as the real chart does) and server.volumes/volumeMounts, the real chart's
#            "data"/"audit" volumeClaimTemplates (server.dataStorage/auditStorage, raft or
#            standalone), server.updateStrategyType (OnDelete, the real default), its
#            Services/ConfigMap/ServiceAccount/PDB, and the
#            agent injector Deployment "openbao-server-agent-injector"
#            (openbao.injector.image) with its Service and webhook configuration.
# Everything else the real charts render (test pods, RBAC, probes, config contents, ...)
# is absent or simplified. A dependency without a dedicated placeholder gets an empty
# chart (no templates) and a warning.
#
# Chart.lock: helm template/package only check that every dependency is present in charts/
# with a matching name and a version satisfying the constraint; the Chart.lock digest is
# checked by `helm dependency build` alone (impossible offline, and never run here), so the
# lock files are copied unchanged, as a published chart carries them.
#
# /work/shared is never modified: everything is written under OUT_DIR. Idempotent: each
# chart's copy in OUT_DIR is replaced on every run.
#
# Usage: placeholder-subcharts.sh CHARTS_DIR OUT_DIR
#   CHARTS_DIR  directory of chart directories (e.g. /work/shared/upstream/charts)
#   OUT_DIR     where to write the copies (created if missing)
# stdout: the names of the placeholder subcharts written, one "<chart>/charts/<dep>" a line.
set -euo pipefail
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME

log() { printf '[placeholder-subcharts %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

[[ $# -eq 2 ]] || { echo "usage: $0 CHARTS_DIR OUT_DIR" >&2; exit 2; }
charts_dir="$(cd "$1" && pwd)"
mkdir -p "$2"
out_dir="$(cd "$2" && pwd)"
[[ "$out_dir" != "$charts_dir" && "$out_dir" != "$charts_dir"/* ]] ||
  { log "OUT_DIR must not be inside CHARTS_DIR"; exit 2; }
python3 -c 'import yaml' 2>/dev/null ||
  { log "need python3 with PyYAML to read Chart.yaml"; exit 1; }

# Prints "chart<TAB>dep<TAB>version" for each dependency that the chart directories $2...
# under $1 declare in its Chart.yaml but that its charts/ folder lacks (checked by chart name).
missing_deps() {
  python3 - "$@" <<'PY'
import os, sys, tarfile, yaml
root = sys.argv[1]
for chart in sys.argv[2:]:
    path = os.path.join(root, chart)
    if not os.path.isfile(os.path.join(path, "Chart.yaml")):
        continue
    with open(os.path.join(path, "Chart.yaml")) as f:
        meta = yaml.safe_load(f) or {}
    present = set()
    sub = os.path.join(path, "charts")
    if os.path.isdir(sub):
        for entry in os.listdir(sub):
            p = os.path.join(sub, entry)
            if os.path.isfile(os.path.join(p, "Chart.yaml")):
                with open(os.path.join(p, "Chart.yaml")) as f:
                    present.add((yaml.safe_load(f) or {}).get("name"))
            elif entry.endswith(".tgz"):
                with tarfile.open(p) as t:
                    for m in t.getmembers():
                        if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml"):
                            present.add((yaml.safe_load(t.extractfile(m)) or {}).get("name"))
    for dep in meta.get("dependencies") or []:
        if dep["name"] not in present:
            print(f"{chart}\t{dep['name']}\t{dep['version']}")
PY
}

write_nats() { # DIR VERSION
  local dir="$1" version="$2"
  mkdir -p "$dir/templates"
  cat >"$dir/Chart.yaml" <<EOF
# PLACEHOLDER for the real nats chart ${version} (https://nats-io.github.io/k8s/helm/charts/),
# which is not vendored upstream. Written by tests/tools/placeholder-subcharts.sh.
apiVersion: v2
name: nats
version: ${version}
description: Placeholder for the NATS Server chart (not the real chart)
EOF
  # Defaults of the real chart for the keys the templates below read.
  cat >"$dir/values.yaml" <<'EOF'
# Placeholder: only the real chart's defaults that these templates read.
global:
  image:
    pullPolicy: ""
    pullSecretNames: []
    registry: ""
nameOverride: ""
fullnameOverride: ""
namespaceOverride: ""
config:
  cluster:
    enabled: false
    replicas: 3
  jetstream:
    enabled: false
    fileStore:
      enabled: true
      pvc:
        enabled: true
        size: 10Gi
        storageClassName: null
container:
  image:
    repository: nats
    tag: 2.11.10-alpine
    pullPolicy: ""
    registry: ""
reloader:
  enabled: true
  image:
    repository: natsio/nats-server-config-reloader
    tag: 0.16.1
    pullPolicy: ""
    registry: ""
natsBox:
  enabled: true
  container:
    image:
      repository: natsio/nats-box
      tag: 0.16.0
      pullPolicy: ""
      registry: ""
podDisruptionBudget:
  enabled: true
EOF
  cat >"$dir/templates/_helpers.tpl" <<'EOF'
{{/* Placeholder for the real nats chart: same fullname and image rules. */}}
{{- define "nats.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nats.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "nats.image" }}
{{- $image := printf "%s:%s" .repository .tag }}
{{- if or .registry .global.image.registry }}
{{- $image = printf "%s/%s" (.registry | default .global.image.registry) $image }}
{{- end -}}
image: {{ $image }}
{{- if or .pullPolicy .global.image.pullPolicy }}
imagePullPolicy: {{ .pullPolicy | default .global.image.pullPolicy }}
{{- end }}
{{- end }}

{{- define "nats.pullSecrets" -}}
{{- with .Values.global.image.pullSecretNames }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}
EOF
  cat >"$dir/templates/nats.yaml" <<'EOF'
{{- /* Placeholder for the real nats chart: main objects only. */ -}}
{{- $name := include "nats.fullname" . }}
{{- $ns := include "nats.namespace" . }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}-config
  namespace: {{ $ns }}
data:
  nats.conf: "# placeholder"
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: nats
  ports:
    - name: nats
      port: 4222
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-headless
  namespace: {{ $ns }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: nats
  ports:
    - name: nats
      port: 4222
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  serviceName: {{ $name }}-headless
  replicas: {{ ternary .Values.config.cluster.replicas 1 .Values.config.cluster.enabled }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: nats
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: nats
    spec:
      {{- include "nats.pullSecrets" . | nindent 6 }}
      containers:
        - name: nats
          {{- include "nats.image" (merge (pick .Values "global") .Values.container.image) | nindent 10 }}
        {{- if .Values.reloader.enabled }}
        - name: reloader
          {{- include "nats.image" (merge (pick .Values "global") .Values.reloader.image) | nindent 10 }}
        {{- end }}
  {{- /* As the real chart: JetStream's file store keeps its data in a claim named
         "<fullname>-js", so the pods' PVCs are <fullname>-js-<pod>. */}}
  {{- $fs := .Values.config.jetstream.fileStore }}
  {{- if and .Values.config.jetstream.enabled $fs.enabled $fs.pvc.enabled }}
  volumeClaimTemplates:
    - metadata:
        name: {{ $name }}-js
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: {{ $fs.pvc.size }}
        {{- with $fs.pvc.storageClassName }}
        storageClassName: {{ . }}
        {{- end }}
  {{- end }}
{{- if .Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: nats
{{- end }}
{{- if .Values.natsBox.enabled }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}-box-contexts
  namespace: {{ $ns }}
type: Opaque
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}-box
  namespace: {{ $ns }}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: nats-box
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: nats-box
    spec:
      {{- include "nats.pullSecrets" . | nindent 6 }}
      containers:
        - name: nats-box
          {{- include "nats.image" (merge (pick .Values "global") .Values.natsBox.container.image) | nindent 10 }}
{{- end }}
EOF
}

write_openbao() { # DIR VERSION
  local dir="$1" version="$2"
  mkdir -p "$dir/templates"
  cat >"$dir/Chart.yaml" <<EOF
# PLACEHOLDER for the real openbao chart ${version} (oci://ghcr.io/openbao/charts), which is
# not vendored upstream. Written by tests/tools/placeholder-subcharts.sh.
apiVersion: v2
name: openbao
version: ${version}
description: Placeholder for the OpenBao chart (not the real chart)
EOF
  cat >"$dir/values.yaml" <<'EOF'
# Placeholder: only the real chart's defaults that these templates read.
global:
  enabled: true
  namespace: ""
  imagePullSecrets: []
nameOverride: ""
fullnameOverride: ""
injector:
  enabled: true
  replicas: 1
  image:
    registry: "quay.io"
    repository: "openbao/openbao-k8s"
    tag: "1.4.0"
    pullPolicy: IfNotPresent
  agentImage:
    registry: "quay.io"
    repository: "openbao/openbao"
    tag: "2.2.0"
server:
  enabled: true
  image:
    registry: "quay.io"
    repository: "openbao/openbao"
    tag: "2.2.0"
    pullPolicy: IfNotPresent
  # The real chart's default: helm upgrade restarts no pod (upgrades rotate them by hand).
  updateStrategyType: "OnDelete"
  extraInitContainers: null
  extraContainers: null
  dataStorage:
    enabled: true
    size: 10Gi
    mountPath: "/openbao/data"
    storageClass: null
    accessMode: ReadWriteOnce
  auditStorage:
    enabled: false
    size: 10Gi
    mountPath: "/openbao/audit"
    storageClass: null
    accessMode: ReadWriteOnce
  ha:
    enabled: false
    replicas: 3
    raft:
      enabled: false
    disruptionBudget:
      enabled: true
      maxUnavailable: null
  standalone:
    enabled: "-"
  dev:
    enabled: false
EOF
  cat >"$dir/templates/_helpers.tpl" <<'EOF'
{{/* Placeholder for the real openbao chart: same fullname rule (the wrapper chart
     redefines openbao.fullname identically, and parent definitions win in helm). */}}
{{- define "openbao.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "openbao.placeholder.namespace" -}}
{{- default .Release.Namespace .Values.global.namespace -}}
{{- end -}}

{{- define "openbao.placeholder.pullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
EOF
  cat >"$dir/templates/server.yaml" <<'EOF'
{{- /* Placeholder for the real openbao chart: server objects only. */ -}}
{{- if and .Values.global.enabled .Values.server.enabled }}
{{- $name := include "openbao.fullname" . }}
{{- $ns := include "openbao.placeholder.namespace" . }}
{{- $img := .Values.server.image }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}-config
  namespace: {{ $ns }}
data:
  extraconfig-from-values.hcl: "# placeholder"
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
    component: server
  ports:
    - name: http
      port: 8200
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-internal
  namespace: {{ $ns }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
    component: server
  ports:
    - name: http
      port: 8200
    - name: https-internal
      port: 8201
{{- if .Values.server.ha.enabled }}
{{- range $role := list "active" "standby" }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-{{ $role }}
  namespace: {{ $ns }}
spec:
  selector:
    app.kubernetes.io/instance: {{ $.Release.Name }}
    component: server
    openbao-active: {{ eq $role "active" | quote }}
  ports:
    - name: http
      port: 8200
{{- end }}
{{- if .Values.server.ha.disruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  maxUnavailable: {{ .Values.server.ha.disruptionBudget.maxUnavailable | default (sub (div .Values.server.ha.replicas 2) 1) }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      component: server
{{- end }}
{{- end }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  serviceName: {{ $name }}-internal
  replicas: {{ ternary .Values.server.ha.replicas 1 .Values.server.ha.enabled }}
  updateStrategy:
    type: {{ .Values.server.updateStrategyType }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      component: server
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
        component: server
    spec:
      serviceAccountName: {{ $name }}
      {{- include "openbao.placeholder.pullSecrets" . | nindent 6 }}
      {{- with .Values.server.extraInitContainers }}
      initContainers:
        {{- tpl (toYaml .) $ | nindent 8 }}
      {{- end }}
      containers:
        - name: openbao
          image: {{ $img.registry | default "docker.io" }}/{{ $img.repository }}:{{ $img.tag | default "latest" }}
          imagePullPolicy: {{ $img.pullPolicy }}
          {{- with .Values.server.volumeMounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
        {{- with .Values.server.extraContainers }}
        {{- tpl (toYaml .) $ | nindent 8 }}
        {{- end }}
      {{- with .Values.server.volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- /* As the real chart: raft (or standalone) servers keep their data in claims named
         "data" (and "audit" when enabled), so the pods' PVCs are data-<pod>. */}}
  {{- $raft := and .Values.server.ha.enabled .Values.server.ha.raft.enabled }}
  {{- $claims := list }}
  {{- if and .Values.server.dataStorage.enabled (or $raft (not .Values.server.ha.enabled)) }}
  {{- $claims = append $claims (dict "name" "data" "s" .Values.server.dataStorage) }}
  {{- end }}
  {{- if .Values.server.auditStorage.enabled }}
  {{- $claims = append $claims (dict "name" "audit" "s" .Values.server.auditStorage) }}
  {{- end }}
  {{- with $claims }}
  volumeClaimTemplates:
  {{- range . }}
    - metadata:
        name: {{ .name }}
      spec:
        accessModes: [{{ .s.accessMode | default "ReadWriteOnce" }}]
        resources:
          requests:
            storage: {{ .s.size }}
        {{- with .s.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
  {{- end }}
  {{- end }}
{{- end }}
EOF
  cat >"$dir/templates/injector.yaml" <<'EOF'
{{- /* Placeholder for the real openbao chart: agent injector objects only. */ -}}
{{- if and .Values.global.enabled .Values.injector.enabled }}
{{- $name := printf "%s-agent-injector" (include "openbao.fullname" .) }}
{{- $ns := include "openbao.placeholder.namespace" . }}
{{- $img := .Values.injector.image }}
{{- $agent := .Values.injector.agentImage }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-svc
  namespace: {{ $ns }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
    component: webhook
  ports:
    - name: https
      port: 443
      targetPort: 8080
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: {{ $name }}-cfg
webhooks:
  - name: openbao.hashicorp.com
    admissionReviewVersions: ["v1", "v1beta1"]
    sideEffects: None
    clientConfig:
      service:
        name: {{ $name }}-svc
        namespace: {{ $ns }}
        path: /mutate
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
spec:
  replicas: {{ .Values.injector.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      component: webhook
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
        component: webhook
    spec:
      serviceAccountName: {{ $name }}
      {{- include "openbao.placeholder.pullSecrets" . | nindent 6 }}
      containers:
        - name: sidecar-injector
          image: {{ $img.registry | default "docker.io" }}/{{ $img.repository }}:{{ $img.tag }}
          imagePullPolicy: {{ $img.pullPolicy }}
          env:
            - name: AGENT_INJECT_VAULT_IMAGE
              value: {{ $agent.registry | default "docker.io" }}/{{ $agent.repository }}:{{ $agent.tag }}
{{- end }}
EOF
}

write_empty() { # DIR NAME VERSION
  local dir="$1" name="$2" version="$3"
  mkdir -p "$dir"
  cat >"$dir/Chart.yaml" <<EOF
# PLACEHOLDER for the real ${name} chart ${version}, which is not vendored upstream.
# Written by tests/tools/placeholder-subcharts.sh; it renders nothing.
apiVersion: v2
name: ${name}
version: ${version}
EOF
  printf '# Placeholder: no values.\n' >"$dir/values.yaml"
}

shopt -s nullglob
copied=()
for chart in "$charts_dir"/*/; do
  chart="${chart%/}"
  [[ -f "$chart/Chart.yaml" ]] || continue
  name="$(basename "$chart")"
  rm -rf "${out_dir:?}/$name"
  cp -r "$chart" "$out_dir/$name"
  chmod -R u+w "$out_dir/$name"
  copied+=("$name")
done
[[ ${#copied[@]} -gt 0 ]] || { log "no chart directories in $charts_dir"; exit 1; }

while IFS=$'\t' read -r name dep version; do
  [[ -n "$dep" ]] || continue
  dest="$out_dir/$name/charts/$dep"
  case "$dep" in
    nats) write_nats "$dest" "$version" ;;
    openbao) write_openbao "$dest" "$version" ;;
    *)
      log "warning: no placeholder templates for $dep $version (needed by $name); writing an empty chart"
      write_empty "$dest" "$dep" "$version"
      ;;
  esac
  log "placeholder subchart $name/charts/$dep ($version)"
  echo "$name/charts/$dep"
done < <(missing_deps "$out_dir" "${copied[@]}")
