"""report.md and a self-contained report.html (inline SVG plots, no scripts, no external files)."""
from __future__ import annotations

import html
from pathlib import Path

from rag.bench import Question, retrieval_ranks

SCORE_KEYS = ["fact_recall", "all_facts", "citation_precision", "citation_recall", "retrieval_hit", "hit_at_k", "mrr",
              "correct_refusal", "false_refusal", "first_token_p50_s", "first_token_p95_s", "total_p50_s",
              "total_p95_s", "prompt_tokens_per_s", "generation_tokens_per_s", "median_prompt_tokens"]
COLOURS = {"correct": "#2e7d32", "correct refusal": "#2e7d32", "partial": "#f9a825", "declined": "#9e9e9e",
           "wrong source": "#ef6c00", "wrong": "#c62828", "answered unanswerable": "#c62828"}


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def bars_svg(labels: list[str], values: list[float], colours: list[str], title: str, vmax: float | None = None) -> str:
    """Vertical bars, one per label: 40 questions -> an 800 x 220 SVG."""
    w, h, pad = max(320, 22 * len(values) + 60), 220, 40
    vmax = vmax or max(values + [1e-9])
    bw = (w - pad - 10) / max(1, len(values))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img"><title>{html.escape(title)}</title>',
           f'<text x="{pad}" y="14" font-size="12">{html.escape(title)}</text>',
           f'<line x1="{pad}" y1="{h - 40}" x2="{w - 10}" y2="{h - 40}" stroke="#999"/>',
           f'<text x="2" y="{h - 40}" font-size="10">0</text><text x="2" y="30" font-size="10">{vmax:.2g}</text>']
    for i, (lab, v, c) in enumerate(zip(labels, values, colours)):
        bh = (h - 70) * (v / vmax if vmax else 0)
        x = pad + i * bw
        out.append(f'<rect x="{x + 2:.1f}" y="{h - 40 - bh:.1f}" width="{bw - 4:.1f}" height="{bh:.1f}" fill="{c}">'
                   f'<title>{html.escape(lab)}: {v:.3g}</title></rect>')
        out.append(f'<text x="{x + bw / 2:.1f}" y="{h - 26}" font-size="9" text-anchor="end" '
                   f'transform="rotate(-60 {x + bw / 2:.1f} {h - 26})">{html.escape(lab[-8:])}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram_svg(values: list[float], title: str, bins: int = 12) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    labels = [f"{lo + i * width:.1f}s" for i in range(bins)]
    return bars_svg(labels, [float(c) for c in counts], ["#1565c0"] * bins, title)


def split_svg(split: dict[str, float], title: str) -> str:
    """One stacked bar: share of the time in each stage."""
    total = sum(split.values()) or 1.0
    colours = {"retrieval": "#6a1b9a", "prompt": "#1565c0", "generation": "#2e7d32", "check": "#ef6c00"}
    x, out = 0.0, [f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="70" role="img"><title>{html.escape(title)}</title>',
                   f'<text x="0" y="12" font-size="12">{html.escape(title)}</text>']
    for k, v in split.items():
        w = 620 * v / total
        out.append(f'<rect x="{x:.1f}" y="20" width="{w:.1f}" height="22" fill="{colours.get(k, "#555")}">'
                   f'<title>{k}: {v:.2f} s ({100 * v / total:.1f}%)</title></rect>')
        out.append(f'<text x="{x:.1f}" y="60" font-size="10">{k} {100 * v / total:.1f}%</text>')
        x += w
    out.append("</svg>")
    return "".join(out)


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


def write(out_dir: Path, questions: list[Question], results: list[dict], summary: dict) -> None:
    scores = summary.get("scores") or {}
    env = summary["environment"]
    rows = _rows(questions, results)
    model = env["model"].get("file") or env["model"].get("endpoint", "")
    md = ["# Benchmark report", "", f"{len(rows)} questions, {scores.get('runs', len(results))} answers; model "
          f"`{Path(model).name if model else '?'}` (sha256 `{env['model'].get('sha256', '–')[:16]}…`); "
          f"{env['cpu']} × {env['cores']} cores; {env['date']}.", "", "| score | value |", "|---|---|"]
    md += [f"| {k} | {_fmt(scores.get(k))} |" for k in SCORE_KEYS if k in scores]
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
