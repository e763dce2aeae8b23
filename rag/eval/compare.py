"""``rag bench compare``: two finished runs side by side, and the questions whose verdict changed."""
from __future__ import annotations

import json
from pathlib import Path

from core.errors import RagError


def load_run(run_dir: Path) -> tuple[dict, dict[str, dict]]:
    """(summary, first-repeat results by id) of a finished run folder."""
    run_dir = Path(run_dir)
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        results = {}
        for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("repeat", 0) == 0:
                results[r["id"]] = r
    except (OSError, ValueError, KeyError) as exc:
        raise RagError(f"{run_dir} is not a finished bench run (summary.json and results.jsonl): {exc}") from None
    return summary, results


def compare(run_a: Path, run_b: Path) -> str:
    """A markdown table of the two runs' scores with deltas, then the questions whose verdict changed."""
    (sa, ra), (sb, rb) = load_run(run_a), load_run(run_b)
    a, b = sa.get("scores") or {}, sb.get("scores") or {}
    lines = [f"| score | {Path(run_a).name} | {Path(run_b).name} | delta | ratio |", "|---|---|---|---|---|"]
    for k in a:
        if isinstance(a.get(k), (int, float)) and isinstance(b.get(k), (int, float)):
            if isinstance(a[k], int) and isinstance(b[k], int):
                lines.append(f"| {k} | {a[k]} | {b[k]} | {b[k] - a[k]:+d} | {_ratio(a[k], b[k])} |")
            else:
                lines.append(f"| {k} | {a[k]:.3f} | {b[k]:.3f} | {b[k] - a[k]:+.3f} | {_ratio(a[k], b[k])} |")
    changed = []
    for qid in sorted(set(ra) & set(rb)):
        va, vb = ra[qid].get("verdict", {}).get("verdict"), rb[qid].get("verdict", {}).get("verdict")
        if va != vb:
            changed.append(f"| {qid} | {va} | {vb} | {rb[qid].get('question', '')[:70]} |")
    lines += ["", f"{len(changed)} question(s) changed verdict" + (":" if changed else "."), ""]
    if changed:
        lines += ["| id | before | after | question |", "|---|---|---|---|"] + changed
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    """b / a, "–" when a is 0: latencies and token counts are judged by ratios measured in one session."""
    return f"{b / a:.2f}x" if a else "–"
