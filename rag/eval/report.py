"""report.md and a self-contained report.html (matplotlib plots inlined as SVG, no scripts, no external files)."""
from __future__ import annotations

import html
from pathlib import Path

from rag.eval.plots import bars_svg, histogram_svg, split_svg
from rag.eval.questions import Question
from rag.eval.scoring import TYPE_KEYS, retrieval_ranks

SCORE_KEYS = ["fact_recall", "all_facts", "citation_precision", "citation_recall", "retrieval_hit", "hit_at_k", "mrr",
              "correct_refusal", "false_refusal", "first_token_p50_s", "first_token_p95_s", "total_p50_s",
              "total_p95_s", "prompt_tokens_per_s", "generation_tokens_per_s", "median_prompt_tokens",
              "evidence_hit", "facts_in_evidence", "median_evaluated_tokens", "llama_prompt_tokens_per_s",
              "llama_generation_tokens_per_s"]
COLOURS = {"correct": "#2e7d32", "correct refusal": "#2e7d32", "partial": "#f9a825", "declined": "#9e9e9e",
           "wrong source": "#ef6c00", "wrong": "#c62828", "answered unanswerable": "#c62828"}


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _rows(questions: list[Question], results: list[dict]) -> list[dict]:
    first = {r["id"]: r for r in results if r.get("repeat", 0) == 0}
    rows = []
    for q in questions:
        r = first.get(q.item["id"])
        if r is None:
            continue
        v = r.get("verdict") or {}
        rows.append({"id": q.item["id"], "question": q.item["question"], "answer": r.get("answer", ""),
                     "verdict": v.get("verdict", ""), "fact_recall": v.get("fact_recall"),
                     "cited": ", ".join(v.get("cited_sources", [])), "expected": ", ".join(q.item.get("sources", [])),
                     "missed": ", ".join(v.get("facts_missed", [])), "rank": retrieval_ranks(q.item, r),
                     "total_s": r.get("timings", {}).get("total_s")})
    return rows


def _type_table(types: dict[str, dict]) -> list[str]:
    """Every score per question type, a column a type (nothing for a file without types)."""
    if not types:
        return []
    names = list(types)
    out = ["", "Per question type:", "", "| score | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
           "| questions | " + " | ".join(str(types[t]["questions"]) for t in names) + " |"]
    return out + [f"| {k} | " + " | ".join(_fmt(types[t].get(k)) for t in names) + " |" for k in TYPE_KEYS]


def write(out_dir: Path, questions: list[Question], results: list[dict], summary: dict) -> None:
    """report.md and report.html of a run into ``out_dir``."""
    scores = summary.get("scores") or {}
    env = summary["environment"]
    rows = _rows(questions, results)
    model = env["model"].get("file") or env["model"].get("endpoint", "")
    md = ["# Benchmark report", "", f"{len(rows)} questions, {scores.get('runs', len(results))} answers; model "
          f"`{Path(model).name if model else '?'}` (sha256 `{env['model'].get('sha256', '–')[:16]}…`); "
          f"{env['cpu']} × {env['cores']} cores; {env['date']}.", "", "| score | value |", "|---|---|"]
    md += [f"| {k} | {_fmt(scores.get(k))} |" for k in SCORE_KEYS if k in scores]
    md += _type_table(scores.get("by_type") or {})
    split = scores.get("time_split_s", {})
    if split:
        tot = sum(split.values()) or 1
        md += ["", "Where time goes: " + ", ".join(f"{k} {100 * v / tot:.1f}%" for k, v in split.items())]
    md += ["", "| id | verdict | facts | rank | s | cited | expected | missed | answer |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ans = r["answer"].replace("|", "\\|").replace("\n", " ")[:160]
        md.append(f"| {r['id']} | {r['verdict']} | {_fmt(r['fact_recall'])} | {r['rank'] or '–'} | "
                  f"{_fmt(r['total_s'])} | {r['cited']} | {r['expected']} | {r['missed']} | {ans} |")
    (out_dir / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    totals = [r["timings"]["total_s"] for r in results if "total_s" in r.get("timings", {})]
    plots = [histogram_svg(totals, "Total time per answer (s)"),
             bars_svg([r["id"] for r in rows], [r["fact_recall"] if r["fact_recall"] is not None else
                                                (1.0 if r["verdict"] == "correct refusal" else 0.0) for r in rows],
                      [COLOURS.get(r["verdict"], "#555") for r in rows], "Score per question (fact recall; refusals 1/0)", 1.0),
             split_svg(split, "Where time goes") if split else ""]
    e = html.escape
    table = "".join(
        f"<tr><td>{e(r['id'])}</td><td>{e(r['question'])}</td><td>{e(r['answer'])}</td>"
        f"<td style='color:{COLOURS.get(r['verdict'], '#000')}'>{e(r['verdict'])}</td><td>{_fmt(r['fact_recall'])}</td>"
        f"<td>{e(r['cited'])}</td><td>{e(r['expected'])}</td><td>{e(r['missed'])}</td><td>{_fmt(r['total_s'])}</td></tr>"
        for r in rows)
    score_rows = "".join(f"<tr><td>{k}</td><td>{_fmt(scores.get(k))}</td></tr>" for k in SCORE_KEYS if k in scores)
    env_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in env.items() if k != "settings")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Benchmark report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}svg{{margin:1em 0;display:block}}</style></head><body>
<h1>Benchmark report</h1><h2>Scores</h2><table>{score_rows}</table>
<h2>Plots</h2>{''.join(plots)}
<h2>Per question</h2><table><tr><th>id</th><th>question</th><th>answer</th><th>verdict</th><th>facts</th>
<th>cited</th><th>expected</th><th>missed</th><th>s</th></tr>{table}</table>
<h2>Environment</h2><table>{env_rows}</table><h3>Settings</h3><pre>{e(str(env.get('settings')))}</pre></body></html>"""
    (out_dir / "report.html").write_text(page, encoding="utf-8")
