"""``rag bench``: answer a question file, write results, score them, report, compare runs.

A run folder holds ``results.jsonl`` (one ``rag ask --json`` object per question plus ``id``, ``repeat`` and
``verdict``), ``summary.json``, ``report.md`` and ``report.html``. An interrupted run resumes: ids already in
``results.jsonl`` are not asked again.
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from rag.errors import RagError
from rag.scoring import judge, percentile, summarise


@dataclass(frozen=True)
class Question:
    line: int
    item: dict


def load_questions(path: Path) -> list[Question]:
    """Validate the whole file before anything loads; every bad line is reported with its number."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RagError(f"No question file at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"Cannot read the question file {path} ({exc}); it must be UTF-8 JSON lines.") from None
    out, errors, ids = [], [], set()
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            errors.append(f"line {n}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(item, dict):
            errors.append(f"line {n}: expected a JSON object")
            continue
        problems = []
        if not isinstance(item.get("id"), (str, int)) or str(item.get("id")).strip() == "":
            problems.append("'id' is missing")
        elif str(item["id"]) in ids:
            problems.append(f"id {item['id']!r} repeats an earlier line")
        if not isinstance(item.get("question"), str) or not item["question"].strip():
            problems.append("'question' is missing or empty")
        facts = item.get("facts", [])
        if not isinstance(facts, list) or not all(isinstance(f, list) and f and all(isinstance(x, str) for x in f)
                                                  for f in facts):
            problems.append("'facts' must be a list of lists of strings")
        if not isinstance(item.get("sources", []), list):
            problems.append("'sources' must be a list")
        if "answerable" in item and not isinstance(item["answerable"], bool):
            problems.append("'answerable' must be true or false")
        if problems:
            errors.append(f"line {n}: " + "; ".join(problems))
            continue
        item["id"] = str(item["id"])
        ids.add(item["id"])
        out.append(Question(n, item))
    if errors:
        raise RagError(f"The question file {path} has {len(errors)} bad line(s):\n  " + "\n  ".join(errors[:20]))
    if not out:
        raise RagError(f"The question file {path} holds no questions.")
    return out


def scorable(questions: list[Question]) -> bool:
    return any("facts" in q.item or "answerable" in q.item for q in questions)


def _key(r: dict) -> tuple[str, int]:
    return str(r["id"]), int(r.get("repeat", 0))


def run_questions(questions: list[Question], answer_one: Callable[[dict], dict], out_path: Path,
                  repeats: int = 1, on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Answer each question ``repeats`` times, appending to ``out_path``; answers already there are kept."""
    done: dict[tuple[str, int], dict] = {}
    if out_path.exists():
        for line in out_path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
                done[_key(r)] = r
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interrupted run is asked again
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with open(out_path, "a", encoding="utf-8") as f:
        for rep in range(repeats):
            for q in questions:
                key = (q.item["id"], rep)
                if key in done:
                    results.append(done[key])
                    continue
                r = {"id": q.item["id"], "repeat": rep} | answer_one(q.item)
                if "answerable" in q.item or "facts" in q.item:
                    r["verdict"] = judge(q.item, r)
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                f.flush()
                results.append(r)
                if on_result:
                    on_result(r)
    return results


def retrieval_ranks(item: dict, result: dict) -> int | None:
    """1-based rank of the first retrieved passage from an expected source; None if none was retrieved."""
    for i, r in enumerate(result.get("retrieved", []), 1):
        if r["source"] in item.get("sources", []):
            return i
    return None


def time_split(result: dict) -> dict:
    """Where a question's time went: retrieval, prompt processing, generation, citation check."""
    t = result.get("timings", {})
    retrieve = t.get("retrieve_s", 0.0)
    first = t.get("first_token_s", retrieve)
    check = t.get("check_s", 0.0)
    total = t.get("total_s", first)
    return {"retrieval": retrieve, "prompt": max(0.0, first - retrieve),
            "generation": max(0.0, total - first - check), "check": check}


def score_run(questions: list[Question], results: list[dict]) -> dict:
    """The README scores (first repeat), retrieval hit@k and MRR, latency over all repeats, tokens/s."""
    items = {q.item["id"]: q.item for q in questions}
    first = {r["id"]: r for r in results if r.get("repeat", 0) == 0 and r["id"] in items}
    pairs = [(items[i], first[i]) for i in items if i in first]
    s = summarise([judge(i, r) for i, r in pairs], list(first.values()))
    answerable = [(i, r) for i, r in pairs if i.get("answerable", True) and i.get("sources")]
    ranks = [retrieval_ranks(i, r) for i, r in answerable]
    s["mrr"] = sum(1 / r for r in ranks if r) / len(ranks) if ranks else None
    s["hit_at_k"] = sum(r is not None for r in ranks) / len(ranks) if ranks else None
    ttft = [r["timings"]["first_token_s"] for r in results if "first_token_s" in r.get("timings", {})]
    total = [r["timings"]["total_s"] for r in results if "total_s" in r.get("timings", {})]
    s |= {"first_token_p50_s": percentile(ttft, 50), "first_token_p95_s": percentile(ttft, 95),
          "total_p50_s": percentile(total, 50), "total_p95_s": percentile(total, 95)}
    gen = [(r.get("completion_tokens", 0), time_split(r)["generation"]) for r in results]
    pp = [(r.get("prompt_tokens", 0), time_split(r)["prompt"]) for r in results]
    s["generation_tokens_per_s"] = (sum(n for n, _ in gen) / sum(t for _, t in gen)) if sum(t for _, t in gen) else None
    s["prompt_tokens_per_s"] = (sum(n for n, _ in pp) / sum(t for _, t in pp)) if sum(t for _, t in pp) else None
    split = [time_split(r) for r in results]
    s["time_split_s"] = {k: sum(x[k] for x in split) for k in ("retrieval", "prompt", "generation", "check")}
    s["runs"] = len(results)
    return s


def environment(settings, model_path: Path | None) -> dict:
    """What a rerun needs to know: model and its sha256, embedder, packages, settings, CPU, date."""
    from embeddings.embedder import EMBEDDER_NAME, embedder_path
    from rag.models import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256, sha256_file

    versions = {}
    for pkg in ("llama_cpp_python", "faiss-cpu", "sentence-transformers", "torch", "bm25s", "numpy", "gradio"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    model = {"endpoint": settings.llm_url} if settings.llm_url else {}
    if model_path is not None and not settings.llm_url:
        model = {"file": str(model_path), "bytes": model_path.stat().st_size,
                 "sha256": DEFAULT_MODEL_SHA256 if model_path.name == DEFAULT_MODEL_NAME else sha256_file(model_path)}
    cpu = platform.processor() or ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model, "embedder": {"name": EMBEDDER_NAME, "path": str(embedder_path())},
        "packages": versions, "python": platform.python_version(),
        "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
        "settings": {k: str(v) if isinstance(v, (Path, tuple)) else v for k, v in asdict(settings).items()},
    }


def write_summary(out_dir: Path, questions: list[Question], results: list[dict], env: dict, wall_s: float) -> dict:
    """summary.json + report.md + report.html; returns the summary."""
    from rag import report

    t0 = time.perf_counter()
    summary = {"scores": score_run(questions, results) if scorable(questions) else None, "environment": env,
               "wall_s": wall_s}
    answered = sum(r.get("timings", {}).get("total_s", 0) for r in results)
    summary["bench_overhead_share"] = max(0.0, wall_s - answered) / wall_s if wall_s and answered else None
    report.write(out_dir, questions, results, summary)
    summary["report_s"] = time.perf_counter() - t0
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


def load_run(run_dir: Path) -> tuple[dict, dict[str, dict]]:
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
    lines = [f"| score | {Path(run_a).name} | {Path(run_b).name} | delta |", "|---|---|---|---|"]
    for k in a:
        if isinstance(a.get(k), (int, float)) and isinstance(b.get(k), (int, float)):
            if isinstance(a[k], int) and isinstance(b[k], int):
                lines.append(f"| {k} | {a[k]} | {b[k]} | {b[k] - a[k]:+d} |")
            else:
                lines.append(f"| {k} | {a[k]:.3f} | {b[k]:.3f} | {b[k] - a[k]:+.3f} |")
    changed = []
    for qid in sorted(set(ra) & set(rb)):
        va, vb = ra[qid].get("verdict", {}).get("verdict"), rb[qid].get("verdict", {}).get("verdict")
        if va != vb:
            changed.append(f"| {qid} | {va} | {vb} | {rb[qid].get('question', '')[:70]} |")
    lines += ["", f"{len(changed)} question(s) changed verdict" + (":" if changed else "."), ""]
    if changed:
        lines += ["| id | before | after | question |", "|---|---|---|---|"] + changed
    return "\n".join(lines)
