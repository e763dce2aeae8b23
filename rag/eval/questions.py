"""Question files (JSON lines, ../shared/eval/README.md): validated whole before any model loads."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import RagError


@dataclass(frozen=True)
class Question:
    """One line of a question file: its line number and the validated object."""

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
