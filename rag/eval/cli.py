"""``rag bench ...`` behind the CLI edge: a question file, ``compare RUN_A RUN_B``, ``ablate ...``, ``perf`` or
``archive``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from core.errors import RagError
from rag.service import Service


def run(args, make_service: Callable[[object], Service]) -> int:
    """Dispatch ``rag bench`` on its first argument; print where the results are and the scores."""
    if args.target == "compare":
        if len(args.rest) != 2:
            raise RagError("Usage: rag bench compare RUN_A RUN_B (two run folders).")
        from rag.eval.compare import compare

        print(compare(Path(args.rest[0]), Path(args.rest[1])))
        return 0
    if args.target == "ablate":
        if not args.rest or len(args.rest) % 2:
            raise RagError("Usage: rag bench ablate RUN QUESTIONS.jsonl [RUN QUESTIONS.jsonl ...] (pairs).")
        from rag.eval.ablate import ablate

        print(ablate([(Path(a), Path(b)) for a, b in zip(args.rest[::2], args.rest[1::2])]))
        return 0
    if args.target == "perf":
        from rag.eval import perf

        try:
            scales = [int(x) for x in args.scales.split(",")] if args.scales else None
        except ValueError:
            raise RagError("--scales takes whole numbers separated by commas, e.g. 1,10,100,1000.") from None
        perf.main(Path(args.out or "runs/perf"), quick=args.quick, scales=scales)
        return 0
    if args.target == "archive":
        from rag.eval import archive

        if args.passages < 1000:
            raise RagError("--passages must be at least 1000.")
        store = getattr(args, "store", None)
        if store and store != "folder":  # side by side with the folder
            from core.settings import Settings
            from rag.eval import archive_milvus

            archive_milvus.main(Path(args.out or "runs/archive-milvus"), args.workdir or Path("runs/archive-milvus-data"),
                                args.passages, Settings.load(store=store).store)
            return 0
        archive.main(Path(args.out or "runs/archive"), args.workdir or Path("runs/archive-data"), args.passages)
        return 0
    if args.rest:
        raise RagError(f"Unexpected arguments: {' '.join(args.rest)}.")
    from rag.eval.questions import load_questions
    from rag.eval.runner import bench

    load_questions(Path(args.target))  # a bad file is reported before the models load
    results_path, out_dir, summary = bench(Path(args.target), make_service(args),
                                           Path(args.out) if args.out else None, args.repeats)
    print(f"results: {results_path}\nreport: {out_dir / 'report.html'}")
    for k, v in (summary["scores"] or {}).items():
        if isinstance(v, (int, float)):
            print(f"{k:>24}: {v:.3f}" if isinstance(v, float) else f"{k:>24}: {v}")
    return 0
