"""``rag bench``: answer a question file, write one JSON object per question, score the run."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import RagError
from rag.scoring import judge, summarise


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


def run_questions(questions: list[Question], answer_one: Callable[[dict], dict], out_path: Path,
                  on_result: Callable[[dict, dict | None], None] | None = None) -> list[dict]:
    """Answer each question, appending to ``out_path``; ids already there are kept, not asked again."""
    done: dict[str, dict] = {}
    if out_path.exists():
        for line in out_path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
                done[str(r["id"])] = r
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interrupted run is asked again
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with open(out_path, "a", encoding="utf-8") as f:
        for q in questions:
            if q.item["id"] in done:
                results.append(done[q.item["id"]])
                continue
            r = {"id": q.item["id"]} | answer_one(q.item)
            if "answerable" in q.item or "facts" in q.item:
                r["verdict"] = judge(q.item, r)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()
            results.append(r)
            if on_result:
                on_result(r, r.get("verdict"))
    return results


def score_run(questions: list[Question], results: list[dict]) -> dict:
    by_id = {r["id"]: r for r in results}
    pairs = [(q.item, by_id[q.item["id"]]) for q in questions if q.item["id"] in by_id]
    return summarise([judge(i, r) for i, r in pairs], [r for _, r in pairs])
