"""``rag bench``: answer a question file through the service, write results, score them, report.

A run folder holds ``results.jsonl`` (one ``rag ask --json`` object per question plus ``id``, ``repeat`` and
``verdict``), ``summary.json``, ``report.md`` and ``report.html``. An interrupted run resumes: ids already in
``results.jsonl`` are not asked again.
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from core.errors import RagError
from core.settings import Settings
from embeddings.embedder import EMBEDDER_NAME, embedder_path
from rag.eval import report
from rag.eval.questions import Question, load_questions
from rag.eval.scoring import judge, score_run, scorable
from rag.models import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256, sha256_file
from rag.service import Service, error_payload


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


def environment(settings: Settings, model_path: Path | None) -> dict:
    """What a rerun needs to know: model and its sha256, embedder, packages, settings, CPU, date."""
    versions = {}
    for pkg in ("llama_cpp_python", "faiss-cpu", "sentence-transformers", "torch", "numpy", "gradio"):
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
    t0 = time.perf_counter()
    summary = {"scores": score_run(questions, results) if scorable(questions) else None, "environment": env,
               "wall_s": wall_s}
    answered = sum(r.get("timings", {}).get("total_s", 0) for r in results)
    summary["bench_overhead_share"] = max(0.0, wall_s - answered) / wall_s if wall_s and answered else None
    report.write(out_dir, questions, results, summary)
    summary["report_s"] = time.perf_counter() - t0
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary




def bench(question_file: Path, service: Service, out: Path | None = None, repeats: int = 1) -> tuple[Path, Path, dict]:
    """Answer every question of ``question_file`` with ``service``; returns (results file, run folder, summary)."""
    questions = load_questions(question_file)  # validated before any model loads
    out = out or Path("runs") / question_file.stem
    out_dir, results_path = (out.parent, out) if out.suffix == ".jsonl" else (out, out / "results.jsonl")
    out_dir.mkdir(parents=True, exist_ok=True)
    service.start()
    service.load_model()
    env = environment(service.settings, getattr(service.engine.llm, "path", None))

    def answer_one(item: dict) -> dict:
        try:
            return service.ask(item["question"]).to_json()
        except RagError as exc:
            return error_payload(item["question"], exc)

    t0 = time.perf_counter()
    with _Progress(len(questions) * repeats) as progress:
        results = run_questions(questions, answer_one, results_path, repeats, progress.show)
    summary = write_summary(out_dir, questions, results, env, time.perf_counter() - t0)
    return results_path, out_dir, summary


class _Progress:
    """A tqdm bar on stderr with the running fact recall."""

    def __init__(self, total: int):
        import sys

        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="Answering", unit="q", file=sys.stderr)
        self.scored: list[float] = []

    def show(self, r: dict) -> None:
        v = r.get("verdict") or {}
        if "fact_recall" in v:
            self.scored.append(v["fact_recall"])
        self.bar.set_postfix_str(f"fact recall {sum(self.scored) / len(self.scored):.2f}" if self.scored else "")
        self.bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
