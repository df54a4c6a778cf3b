#!/usr/bin/env bash
# The fault report: every fault the suite injected (nvcf-sim faults, SIGKILLs, concurrent
# writers), how many times, the retries the product used, whether it survived and what
# was lost. tests/test.sh collects the ledger (NVCF_FAULT_REPORT) and prints this.
#   tests/faults/report.sh LEDGER.jsonl
set -euo pipefail
ledger="${1:?usage: tests/faults/report.sh LEDGER.jsonl}"
[[ -s "$ledger" ]] || { echo "fault report: no fault test wrote to $ledger"; exit 1; }
python3 - "$ledger" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows.sort(key=lambda r: r["test"])
print(f"fault report: {len(rows)} fault tests")
print(f"  {'injected':>8}  {'retries':>7}  {'survived':>8}  {'lost':<8}  fault")
for r in rows:
    retries = "-" if r["retries"] is None else r["retries"]
    print(f"  {r['injected']:>8}  {retries:>7}  {'yes' if r['survived'] else 'NO':>8}  "
          f"{r['lost']:<8}  {r['fault']}")
failed = [r for r in rows if not r["survived"]]
print(f"fault report: {len(rows) - len(failed)} survived, {len(failed)} did not"
      + (": " + ", ".join(r["test"] for r in failed) if failed else ""))
sys.exit(1 if failed else 0)
PY
