#!/usr/bin/env python3
"""Writes WORK/sequential.sh: the helm commands `helm nvcf render` runs, one after another.

Same releases, namespaces, charts, values and flags, taken from render's own plan
(`helm nvcf values` in WORK/values.yaml), so a benchmark compares like with like.
Usage: sequential-helm.py WORK CHARTS CATALOG STACK_CONFIG [PLANE]
"""
import os
import sys

import yaml

work, charts, catalog, config = sys.argv[1:5]
plane = sys.argv[5] if len(sys.argv) > 5 else None
gateway = (yaml.safe_load(open(config)).get("gateway") or {}).get("controllerNamespace")
cat = {r["name"]: r for r in yaml.safe_load(open(catalog))["releases"]}
values = yaml.safe_load(open(os.path.join(work, "values.yaml")))
values = {n: v for n, v in values.items() if plane is None or cat[n]["plane"] == plane}
apis = sorted({f'{c["group"]}/{c["version"]}{suffix}'
               for name in values for c in cat[name].get("crds", [])
               for suffix in ("", "/" + c["kind"])})
lines = ["#!/bin/sh", "set -e"]
for name, v in values.items():
    r = cat[name]
    ns = r["namespace"]
    if r.get("namespaceFrom") == "gateway.controllerNamespace" and gateway:
        ns = gateway
    path = os.path.join(work, f"{name}.yaml")
    yaml.safe_dump(v, open(path, "w"))
    api_flags = " ".join(f"--api-versions {a}" for a in apis)
    lines.append(f'"$HELM" template {name} {charts}/{r["chart"]} --namespace {ns} '
                 f'--include-crds --skip-tests --values {path} {api_flags} >/dev/null')
open(os.path.join(work, "sequential.sh"), "w").write("\n".join(lines) + "\n")
print(f"{len(values)} releases", file=sys.stderr)
