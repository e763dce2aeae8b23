#!/usr/bin/env bash
# The README's ablation table: each run answers ../shared/eval/dev.jsonl with one change from the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
Q=${1:-../shared/eval/dev.jsonl}
run() { local name=$1; shift; rm -rf "runs/abl-$name"; .venv/bin/rag bench "$Q" --out "runs/abl-$name" "$@" > /dev/null; }
run hybrid-k3                    # the defaults: hybrid retrieval, k=3, citation check on, Qwen2.5-1.5B
run dense --mode dense
run lexical --mode lexical
run no-check --no-check
run k5 -k 5
run k8 -k 8
run tiny --model tiny
.venv/bin/python - <<'PY'
import json
from pathlib import Path
keys = ["fact_recall", "all_facts", "citation_precision", "citation_recall", "hit_at_k", "correct_refusal",
        "false_refusal", "first_token_p50_s", "total_p50_s"]
print("| run | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 1) + "|")
for d in ["hybrid-k3", "dense", "lexical", "no-check", "k5", "k8", "tiny"]:
    s = json.loads(Path(f"runs/abl-{d}/summary.json").read_text())["scores"]
    print(f"| {d} | " + " | ".join(f"{s[k]:.3f}" if s.get(k) is not None else "–" for k in keys) + " |")
PY
