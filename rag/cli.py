"""``rag`` command line: index, ask, bench, chat. Errors become one friendly line and exit code 2."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings


def _settings(args) -> Settings:
    corpus = getattr(args, "folders", None) or getattr(args, "corpus", None)
    return Settings.load(
        corpus_dirs=tuple(corpus) if corpus else None,
        index_dir=getattr(args, "index_dir", None),
        model_path=getattr(args, "model", None),
        llm_url=getattr(args, "llm_url", None),
        top_k=getattr(args, "k", None),
        retrieval_mode=getattr(args, "mode", None),
        gen_timeout_s=getattr(args, "timeout", None),
        max_tokens=getattr(args, "max_tokens", None),
        check_citations=False if getattr(args, "no_check", False) else None,
    )


def cmd_index(args) -> int:
    from embeddings.store import ingest

    settings = _settings(args)
    report = ingest(settings, rebuild=args.rebuild)
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    print(f"Index at {settings.resolved_index_dir}: {report.summary()}")
    return 0


def cmd_ask(args) -> int:
    from rag.pipeline import ask_stream, clean_question, format_answer, open_engine
    from rag.records import Answer

    settings = _settings(args)
    clean_question(args.question, settings)  # a bad question is reported before anything loads
    engine, report = open_engine(settings, update=not args.no_update)
    engine.llm  # a missing or damaged model is reported even when the question would be declined
    if report:
        for s in report.skipped:
            print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    streaming = not args.json and not args.no_stream and sys.stdout.isatty()
    final = None
    for item in ask_stream(engine, args.question):
        if isinstance(item, Answer):
            final = item
        elif streaming:
            print(item, end="", flush=True)
    if args.json:
        print(json.dumps(final.to_json(), ensure_ascii=False, indent=None))
    else:
        if streaming:
            print("\n")
        print(format_answer(final))
    return 0


def cmd_bench(args) -> int:
    if args.target == "compare":
        if len(args.rest) != 2:
            raise RagError("Usage: rag bench compare RUN_A RUN_B (two run folders).")
        from rag.bench import compare

        print(compare(Path(args.rest[0]), Path(args.rest[1])))
        return 0
    if args.target == "perf":
        from rag import perf

        try:
            scales = [int(x) for x in args.scales.split(",")] if args.scales else None
        except ValueError:
            raise RagError("--scales takes whole numbers separated by commas, e.g. 1,10,100,1000.") from None
        perf.main(Path(args.out or "runs/perf"), quick=args.quick, scales=scales)
        return 0
    return _bench_questions(args)


def _bench_questions(args) -> int:
    import time

    from tqdm import tqdm

    from rag.bench import environment, load_questions, run_questions, write_summary
    from rag.pipeline import ask, open_engine

    if args.rest:
        raise RagError(f"Unexpected arguments: {' '.join(args.rest)}.")
    questions = load_questions(Path(args.target))  # validated before any model loads
    settings = _settings(args)
    out = Path(args.out) if args.out else Path("runs") / Path(args.target).stem
    if out.suffix == ".jsonl":  # --out results.jsonl: the report files go beside it
        out_dir, results_path = out.parent, out
    else:
        out_dir, results_path = out, out / "results.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    engine, _ = open_engine(settings)
    llm = engine.llm
    env = environment(settings, getattr(llm, "path", None))

    def answer_one(item: dict) -> dict:
        try:
            return ask(engine, item["question"]).to_json()
        except RagError as exc:
            return {"question": item["question"], "answer": "", "refused": True, "error": str(exc),
                    "citations": [], "retrieved": [], "timings": {}}

    bar = tqdm(total=len(questions) * args.repeats, desc="Answering", unit="q", file=sys.stderr)
    scored = []

    def show(r):
        v = r.get("verdict") or {}
        if "fact_recall" in v:
            scored.append(v["fact_recall"])
        bar.set_postfix_str(f"fact recall {sum(scored) / len(scored):.2f}" if scored else "")
        bar.update(1)

    t0 = time.perf_counter()
    results = run_questions(questions, answer_one, results_path, args.repeats, show)
    bar.close()
    summary = write_summary(out_dir, questions, results, env, time.perf_counter() - t0)
    print(f"results: {results_path}\nreport: {out_dir / 'report.html'}")
    for k, v in (summary["scores"] or {}).items():
        if isinstance(v, (int, float)):
            print(f"{k:>24}: {v:.3f}" if isinstance(v, float) else f"{k:>24}: {v}")
    return 0


def cmd_chat(args) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port, share=args.share, auth=args.auth)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Ask questions about a folder of news articles, offline, with cited answers.")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, model=True):
        sp.add_argument("--corpus", action="append", type=Path, help="article folder (repeatable; default: seeds/)")
        sp.add_argument("--index-dir", type=Path, help="where the index lives (default: user cache; env RAG_INDEX_DIR)")
        if model:
            sp.add_argument("--model", type=Path, help="a GGUF file (env RAG_MODEL); 'tiny' for the test model")
            sp.add_argument("--llm-url", help="OpenAI-compatible endpoint instead of in-process llama.cpp (env RAG_LLM_URL)")
            sp.add_argument("-k", type=int, help="passages to retrieve (default 3)")
            sp.add_argument("--mode", choices=["dense", "lexical", "hybrid"], help="retrieval mode (default hybrid)")
            sp.add_argument("--timeout", type=float, help="generation time limit in seconds (default 120)")
            sp.add_argument("--max-tokens", type=int, help="answer length limit in tokens (default 256)")
            sp.add_argument("--no-check", action="store_true", help="skip the citation support check")

    sp = sub.add_parser("index", help="build or update the index of an article folder")
    sp.add_argument("folders", nargs="*", type=Path, help="article folders (default: seeds/)")
    sp.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    common(sp, model=False)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer one question")
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument("--no-stream", action="store_true", help="print only the final answer")
    sp.add_argument("--no-update", action="store_true", help="use the index as it is")
    common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("bench", help="answer a question file and score it; or: bench compare A B; bench perf",
                        description="rag bench QUESTIONS.jsonl [--out DIR] | rag bench compare RUN_A RUN_B | rag bench perf")
    sp.add_argument("target", help="a question file (.jsonl), 'compare' or 'perf'")
    sp.add_argument("rest", nargs="*", help="for compare: the two run folders")
    sp.add_argument("--out", help="run folder (default runs/<name>); a .jsonl path puts the results there")
    sp.add_argument("--repeats", type=int, default=1, help="answer each question N times (latency spread)")
    sp.add_argument("--quick", action="store_true", help="perf: smaller sizes only")
    sp.add_argument("--scales", help="perf: synthetic collection sizes as multiples of the seeds (default 1,10,100)")
    common(sp)
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("chat", help="start the chat web page")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp.add_argument("--share", action="store_true", help="ask Gradio for a public link (off by default)")
    sp.add_argument("--auth", help="user:password, required when --host is not loopback")
    common(sp)
    sp.set_defaults(func=cmd_chat)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
