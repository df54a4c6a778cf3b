#!/usr/bin/env python3
"""Rebuilds the KAI Scheduler, Grove and Dynamo stand-ins from the real charts' own output.

Upstream's compute-plane stack keeps golden files of what `helmfile template` renders for
its test environment (stacks/nvcf-compute-plane/testdata/golden/local/01-dependencies.yaml-
RELEASE/CHART/...): the real third-party charts' objects, hooks and images. For each of
these charts this writes OUT_DIR/CHART with
  - Chart.yaml and the CRDs (the real charts ship them in crds/, which the golden lacks)
    from our committed stand-in in tests/fixtures/charts, plus a minimal CRD for any other
    custom kind the golden renders (cluster-scoped when the golden object has no namespace);
  - templates/: every golden file, as static manifests (template delimiters escaped), so
    the stand-in renders the real chart's object kinds, names, hook annotations and images;
  - values.schema.json: the top-level keys upstream's helmfile sets for the release, and
    no others, so values we give the chart beyond what upstream gives it are refused.
The golden reflects upstream's inputs, not ours; it stands in for the chart's shape only.

    golden-stand-ins.py GOLDEN_DIR FIXTURES_DIR OUT_DIR
"""

import json
import os
import shutil
import sys

import yaml

# API groups Kubernetes serves itself: their kinds need no CRD.
BUILT_IN = {
    "v1", "apps", "batch", "rbac.authorization.k8s.io", "admissionregistration.k8s.io",
    "policy", "networking.k8s.io", "scheduling.k8s.io", "apiextensions.k8s.io",
    "coordination.k8s.io", "autoscaling", "storage.k8s.io",
}

# chart -> (release in the golden, the top-level keys upstream's helmfile values set:
# stacks/nvcf-compute-plane/helmfile.d/01-dependencies.yaml.gotmpl)
CHARTS = {
    "kai-scheduler": ("kai-scheduler", [
        "global", "operator", "podgrouper", "podgroupcontroller", "binder", "scheduler",
        "queuecontroller", "admission", "nodescaleadjuster", "numaPlacementExporter",
        "defaultQueue",
    ]),
    "grove-charts": ("grove-operator", [
        "replicaCount", "image", "resources", "nodeSelector", "tolerations", "podAnnotations",
        "config", "webhookServerSecret", "crdInstaller",
    ]),
    "dynamo-platform": ("dynamo-operator", [
        "dynamo-operator", "nats", "global", "metricsService",
    ]),
}


def escape(text):
    """Golden output is final YAML; a literal `{{` in it must not reach the template engine."""
    return text.replace("{{", '{{"{{"}}')


def build(golden, fixtures, out, chart, release, keys):
    source = os.path.join(golden, "01-dependencies.yaml-%s" % release, chart)
    if not os.path.isdir(source):
        raise SystemExit("golden-stand-ins.py: no golden output at %s" % source)
    dest = os.path.join(out, chart)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, "templates"))
    shutil.copy(os.path.join(fixtures, chart, "Chart.yaml"), os.path.join(dest, "Chart.yaml"))
    crds = os.path.join(fixtures, chart, "templates", "crds.yaml")
    if os.path.exists(crds):
        shutil.copy(crds, os.path.join(dest, "templates", "crds.yaml"))
    with open(os.path.join(dest, "values.yaml"), "w") as f:
        f.write("# Stand-in built from the real chart's golden output; values only checked.\n{}\n")
    count = 0
    texts = []
    for base, _, files in os.walk(source):
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            rel = os.path.relpath(os.path.join(base, name), source)
            flat = "golden-" + rel.replace(os.sep, "--")
            with open(os.path.join(base, name)) as f:
                text = f.read()
            with open(os.path.join(dest, "templates", flat), "w") as f:
                f.write(escape(text))
            texts.append(text)
            count += 1
    write_missing_crds(dest, texts)
    schema = {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {k: {} for k in keys},
        "additionalProperties": False,
    }
    with open(os.path.join(dest, "values.schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
        f.write("\n")
    return count


def write_missing_crds(dest, texts):
    """A minimal CRD for each custom kind the golden renders that our CRDs lack."""
    path = os.path.join(dest, "templates", "crds.yaml")
    known = set()
    if os.path.exists(path):
        for doc in yaml.safe_load_all(open(path).read().replace("{{", "#")):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                known.add((doc["spec"]["group"], doc["spec"]["names"]["kind"]))
    extra = []
    for text in texts:
        for doc in yaml.safe_load_all(text):
            if not doc or "/" not in doc.get("apiVersion", ""):
                continue
            group, version = doc["apiVersion"].rsplit("/", 1)
            kind = doc["kind"]
            if group in BUILT_IN or (group, kind) in known:
                continue
            known.add((group, kind))
            plural = kind.lower() + "s"
            scope = "Namespaced" if doc["metadata"].get("namespace") else "Cluster"
            extra.append(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                "metadata:\n  name: %s.%s\nspec:\n  group: %s\n  scope: %s\n  names:\n"
                "    kind: %s\n    plural: %s\n    singular: %s\n    listKind: %sList\n"
                "  versions:\n  - name: %s\n    served: true\n    storage: true\n    schema:\n"
                "      openAPIV3Schema:\n        type: object\n"
                "        x-kubernetes-preserve-unknown-fields: true\n"
                % (plural, group, group, scope, kind, plural, kind.lower(), kind, version)
            )
    if extra:
        with open(path, "a") as f:
            f.write("".join("\n---\n" + doc for doc in extra))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    golden, fixtures, out = sys.argv[1:]
    for chart, (release, keys) in CHARTS.items():
        n = build(golden, fixtures, out, chart, release, keys)
        print("golden-stand-ins.py: %s from %d golden files" % (chart, n), file=sys.stderr)


if __name__ == "__main__":
    main()
