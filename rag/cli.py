"""``rag`` command line: index, ask, bench, chat. A thin edge over ``rag.service``.

Errors become one line (with the terminal's remedy for the error's hint) and exit code 2. The service and
everything under it are imported by the commands that use them, and the models only by the ones that need
them: ``rag --help`` and ``rag list`` import no PyTorch, sentence-transformers or Gradio (tests/test_cli.py).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from core.dates import human_date
from core.errors import CorpusError, Hint, RagError
from core.records import Answer, Evidence
from core.settings import Settings, uploads_dir

if TYPE_CHECKING:
    from rag.service import Service

HINTS = {
    Hint.REBUILD_INDEX: "run `rag index --rebuild`",
    Hint.BUILD_INDEX: "run `rag index`",
    Hint.OTHER_INDEX_DIR: "or choose another folder with --index-dir",
    Hint.RAISE_TIMEOUT: "--timeout raises the limit",
    Hint.LOCAL_MODEL: "unset RAG_LLM_URL / --llm-url to use the local model",
    Hint.GIVE_MODEL: "--model or RAG_MODEL",
}


def settings_from(args) -> Settings:
    """The ``Settings`` named by the command's flags, over the environment and the defaults."""
    corpus = getattr(args, "folders", None) or getattr(args, "corpus", None)
    return Settings.load(
        corpus_dirs=tuple(corpus) if corpus else None,
        index_dir=getattr(args, "index_dir", None),
        store=getattr(args, "store", None),
        model_path=getattr(args, "model", None),
        llm_url=getattr(args, "llm_url", None),
        top_k=getattr(args, "k", None),
        retrieval_mode=getattr(args, "mode", None),
        gen_timeout_s=getattr(args, "timeout", None),
        max_tokens=getattr(args, "max_tokens", None),
        evidence_tokens=getattr(args, "evidence_tokens", None),
        check_citations=False if getattr(args, "no_check", False) else None,
        judge=True if getattr(args, "judge", False) else None,
    )


def service_from(args) -> Service:
    """The collection the flags name: the given folders, or ``seeds/`` plus the articles added in the page."""
    from rag.service import Service

    explicit = getattr(args, "folders", None) or getattr(args, "corpus", None)
    added = uploads_dir(getattr(args, "data_dir", None))
    return Service(settings_from(args), None if explicit or not added.is_dir() else added)


def cmd_index(args) -> int:
    from rag.service import parse_shard

    service = service_from(args)
    shard = parse_shard(args.shard) if args.shard else None
    report = service.index(rebuild=args.rebuild, shard=shard)
    for line in report.skipped_lines():
        print(line, file=sys.stderr)
    where = service.settings.resolved_index_dir if service.settings.store == "folder" else service.store_name()
    print(f"Index at {where}: {report.summary()}")
    return 0


def cmd_ask(args) -> int:
    from rag.pipeline import clean_question

    service = service_from(args)
    clean_question(args.question, service.settings)  # a bad question is reported before anything loads
    report = service.start(update=not args.no_update)
    for line in report.skipped_lines() if report else []:
        print(line, file=sys.stderr)
    found = service.find(args.question)
    if not args.json and found.evidence:  # the evidence as soon as it is chosen, before the model loads
        print(format_evidence(found.evidence) + "\n", flush=True)
    service.load_model()  # a missing or damaged model is reported even when the question would be declined
    streaming = not args.json and not args.no_stream and sys.stdout.isatty()
    final = None
    for item in service.ask_stream(args.question, found=found):
        if isinstance(item, Answer):
            final = item
        elif streaming and isinstance(item, str):
            print(item, end="", flush=True)
    if args.json:
        print(json.dumps(final.to_json(), ensure_ascii=False, indent=None))
    else:
        if streaming:
            print("\n")
        print(format_answer(final))
    return 0


def format_evidence(evidence: tuple[Evidence, ...]) -> str:
    """"Evidence given to the model:" then one line per sentence, [1]..[n], as the model sees them."""
    lines = ["Evidence given to the model:"]
    for n, ev in enumerate(evidence, 1):
        lines.append(f"  [{n}] {ev.title} ({human_date(ev.date)}): {' '.join(ev.text.split())}")
    return "\n".join(lines)


def format_answer(answer: Answer) -> str:
    """Plain-text rendering for the terminal: answer, then numbered sources with their quotes."""
    lines = [answer.answer, ""]
    if answer.refused:
        if answer.detail:
            lines[1:1] = [f"(Details: {answer.detail}.)", ""]
        if answer.retrieved:
            lines.append("Closest passages:")
            for i, h in enumerate(answer.retrieved, 1):
                lines.append(f"  [{i}] {h.chunk.title} ({human_date(h.chunk.date)}): {h.chunk.text[:160]}...")
        return "\n".join(lines)
    seen = set()
    for c in answer.citations:
        if (c.marker, c.start) in seen:
            continue
        seen.add((c.marker, c.start))
        flag = "" if c.supported else "  (NOT SUPPORTED by this passage)"
        lines.append(f"[{c.marker}] {c.title} ({human_date(c.date)}) {c.source} chars {c.start}-{c.end}{flag}")
        lines.append(f"    \"{c.quote}\"")
    unsupported = [s.text for s in answer.sentences if s.claim and not s.supported]
    if unsupported:
        lines.append("")
        lines.append("Not supported by any retrieved passage: " + " | ".join(unsupported))
    return "\n".join(lines)


def cmd_bench(args) -> int:
    from rag.eval.cli import run

    return run(args, service_from)


def cmd_chat(args) -> int:
    from ui.app import launch

    launch(service_from_page(args), host=args.host, port=args.port, share=args.share, auth=auth_from(args))
    return 0


def auth_from(args) -> str | None:
    """The page's ``user:password``: --auth, else the first line of --auth-file, else $RAG_AUTH (a file or the
    environment keep the password out of `ps`)."""
    if args.auth:
        return args.auth
    if args.auth_file:
        try:
            lines = args.auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise RagError(f"Cannot read the password file {args.auth_file} ({getattr(exc, 'strerror', None) or exc})."
                           ) from exc
        if not lines or not lines[0].strip():
            raise RagError(f"The password file {args.auth_file} is empty; write user:password on its first line.")
        return lines[0].strip()
    return os.environ.get("RAG_AUTH") or None


def service_from_page(args) -> Service:
    """The page always keeps a folder for added articles (created if missing)."""
    from rag.service import Service

    return Service(settings_from(args), uploads_dir(getattr(args, "data_dir", None)), on_wait=_tell)


def _tell(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_add(args) -> int:
    from rag.collection import ACCEPTED
    from rag.service import MAX_ADD_FILES, Added

    service = service_from_page(args)
    paths = []
    for p in args.paths:
        if p.is_dir():
            paths += sorted(f for f in p.iterdir() if (f.is_file() or f.is_symlink()) and f.suffix.lower() in ACCEPTED)
        else:
            paths.append(p)
    if not paths:
        raise CorpusError(f"No article files in {', '.join(map(str, args.paths))}: give .txt, .md, .html, .htm "
                          f"or .pdf files, or a folder of them.")
    service.start()
    result = Added((), ())
    for i in range(0, len(paths), MAX_ADD_FILES):
        part = service.add_files(paths[i:i + MAX_ADD_FILES], replace=args.replace)
        result = Added(result.added + part.added, result.problems + part.problems, part.report or result.report,
                       part.error or result.error, result.notes + part.notes)
    for line in result.notes + tuple(f"not added: {p}" for p in result.problems):
        print(line, file=sys.stderr)
    print(f"Added {len(result.added)} article(s): {', '.join(result.added) or 'none'}"
          + (f". Index: {result.report.summary()}" if result.report else ""))
    if result.error:
        raise CorpusError(result.error)
    return 0 if result.added or not result.problems else 1


def cmd_list(args) -> int:
    service = service_from_page(args)
    service.start(embedder=False)
    for r in service.articles():
        date = f"{r.date} ({r.date_origin or '?'})" if r.date else "undated"
        print(f"{r.source:32} {date:26} {r.passages:4} passages  {'read-only ' if r.read_only else ''}{r.title}")
    return 0


def cmd_remove(args) -> int:
    service = service_from_page(args)
    service.start(embedder=False)
    title = service.documents().get(args.source)
    report = service.remove(args.source)
    print(f"Removed {title.title if title else args.source!r}. Index: {report.summary()}")
    return 0


def cmd_set(args) -> int:
    service = service_from_page(args)
    service.start(embedder=False)
    report = service.set_meta(args.source, title=getattr(args, "title", None), date=getattr(args, "date", None))
    print(f"Saved. Index: {report.summary()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rag`` command's arguments."""
    p = argparse.ArgumentParser(prog="rag", description="Ask questions about a folder of news articles, offline, with cited answers.")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("index", help="build or update the index of an article folder")
    sp.add_argument("folders", nargs="*", type=Path, help="article folders (default: seeds/)")
    sp.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    sp.add_argument("--shard", help="I/N: index only the I-th of N disjoint parts of the articles (N processes "
                                    "filling one Milvus collection)")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument("--no-stream", action="store_true", help="print only the final answer")
    sp.add_argument("--no-update", action="store_true", help="use the index as it is")
    _common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("bench", help="answer a question file and score it; or: bench compare A B; bench ablate; bench perf; "
                             "bench archive",
                        description="rag bench QUESTIONS.jsonl [--out DIR] | rag bench compare RUN_A RUN_B | "
                                    "rag bench ablate RUN QUESTIONS [RUN QUESTIONS ...] | rag bench perf | "
                                    "rag bench archive [--passages N] [--workdir DIR]")
    sp.add_argument("target", help="a question file (.jsonl), 'compare', 'ablate', 'perf' or 'archive'")
    sp.add_argument("rest", nargs="*", help="for compare: the two run folders; for ablate: run folder and question file pairs")
    sp.add_argument("--out", help="run folder (default runs/<name>); a .jsonl path puts the results there")
    sp.add_argument("--repeats", type=int, default=1, help="answer each question N times (latency spread)")
    sp.add_argument("--quick", action="store_true", help="perf: smaller sizes only")
    sp.add_argument("--scales", help="perf: synthetic collection sizes as multiples of the seeds (default 1,10,100)")
    sp.add_argument("--passages", type=int, default=1_000_000, help="archive: passages in the synthetic archive")
    sp.add_argument("--workdir", type=Path, help="archive: where it is built and kept (default runs/archive-data)")
    _common(sp)
    sp.set_defaults(func=cmd_bench)

    _collection_parsers(sub)
    sp = sub.add_parser("chat", help="start the chat web page")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp.add_argument("--share", action="store_true", help="ask Gradio for a public link (off by default)")
    sp.add_argument("--auth", help="user:password, required when --host is not loopback or with --share (it shows "
                                   "in `ps`: prefer --auth-file or RAG_AUTH)")
    sp.add_argument("--auth-file", type=Path, help="a file whose first line is user:password (or env RAG_AUTH)")
    _common(sp)
    sp.set_defaults(func=cmd_chat)
    return p


def _collection_parsers(sub) -> None:
    """``rag add``, ``list``, ``remove``, ``set-date`` and ``set-title``: the user's own articles."""
    sp = sub.add_parser("add", help="add articles (.txt, .md, saved web pages .html/.htm, .pdf, or folders of them)")
    sp.add_argument("paths", nargs="+", type=Path)
    sp.add_argument("--replace", action="store_true", help="replace an added article that has the same name")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_add)

    sp = sub.add_parser("list", help="list the collection: date and where it came from, passages, title")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("remove", help="remove an added article (by the name `rag list` shows)")
    sp.add_argument("source")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_remove)

    sp = sub.add_parser("set-date", help="correct an added article's date (YYYY, YYYY-MM or YYYY-MM-DD; '' clears)")
    sp.add_argument("source")
    sp.add_argument("date")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_set)

    sp = sub.add_parser("set-title", help="correct an added article's title")
    sp.add_argument("source")
    sp.add_argument("title")
    _common(sp, model=False)
    sp.set_defaults(func=cmd_set)



def _common(sp, model: bool = True) -> None:
    sp.add_argument("--corpus", action="append", type=Path, help="article folder (repeatable; default: seeds/)")
    sp.add_argument("--index-dir", type=Path, help="where the index lives (default: user cache; env RAG_INDEX_DIR)")
    sp.add_argument("--store", help="folder (default), milvus:./archive.db (Milvus Lite) or milvus:http://host:19530 "
                                    "(env RAG_STORE; needs pip install -e .[milvus])")
    sp.add_argument("--data-dir", type=Path, help="the folder of your added articles, one collection per folder "
                                                  "(env RAG_DATA_DIR; default: user data folder)")
    if model:
        sp.add_argument("--model", type=Path, help="a GGUF file (env RAG_MODEL); 'tiny' for the test model")
        sp.add_argument("--llm-url", help="OpenAI-compatible endpoint instead of in-process llama.cpp (env RAG_LLM_URL)")
        sp.add_argument("-k", type=int, help="passages searched for evidence, 1-20 (default 8)")
        sp.add_argument("--mode", choices=["dense", "lexical", "hybrid"], help="retrieval mode (default hybrid)")
        sp.add_argument("--timeout", type=float, help="generation time limit in seconds (default 120)")
        sp.add_argument("--max-tokens", type=int, help="answer length limit in tokens (default 256)")
        sp.add_argument("--evidence-tokens", type=int, help="prompt budget for evidence sentences, 30-1500 "
                                                            "(default 170)")
        sp.add_argument("--no-check", action="store_true", help="skip the citation support check")
        sp.add_argument("--judge", action="store_true", help="also ask the model whether each claim is stated "
                                                             "in its passage (~40 tokens a claim)")


def error_line(exc: RagError) -> str:
    """"error: <message> (<the terminal's remedy>)"."""
    hint = HINTS.get(exc.hint) if exc.hint else None
    return f"error: {exc}" + (f" ({hint})" if hint else "")


def main(argv: list[str] | None = None) -> int:
    """Run one ``rag`` command; exit code 2 with one line for a ``RagError``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except RagError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
